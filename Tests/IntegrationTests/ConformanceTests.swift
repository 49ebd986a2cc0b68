import Foundation
import Testing

/// RFC 1034 §4.3.2 and the rest, measured against NSD: the shared differential
/// tester sends every query of the public corpus to NSD and to Cairn on the
/// same zones and diffs the answers. All cases must pass.
@Suite struct ConformanceTests {
    @Test func publicCorpusMatchesNSD() throws {
        let script = Paths.fixture("scripts/conformance").path
        var env = ProcessInfo.processInfo.environment
        env["CAIRN_BIN"] = Paths.cairnBinary.path
        let (status, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/bin/bash"), [script],
                                                          cwd: Paths.packageRoot, env: env)
        let diffs = out.split(separator: "\n").filter { $0.hasPrefix("DIFF") }
        #expect(status == 0, "conformance failed:\n\(out.suffix(6000))")
        #expect(diffs.isEmpty)
        #expect(out.contains(" passed, 0 failed"), "\(out.suffix(2000))")
    }

    /// `scripts/conformance CORPUS` with dnsdiff's `--strict` (no lenient tags, no optional RRsets);
    /// `cairnArgs` configures the candidate as the reference NSD is configured.
    static func runStrictly(_ corpus: String, cairnArgs: String? = nil) throws -> (status: Int32, out: String) {
        var env = ProcessInfo.processInfo.environment
        env["CAIRN_BIN"] = Paths.cairnBinary.path
        env["CAIRN_ARGS"] = cairnArgs
        env["DNSDIFF_ARGS"] = "--strict"
        return try CairnProcess.runCapturing(URL(fileURLWithPath: "/bin/bash"),
                                             [Paths.fixture("scripts/conformance").path, Paths.fixture(corpus).path],
                                             cwd: Paths.packageRoot, env: env)
    }

    /// NSID (RFC 5001) and the CH TXT identity names, configured as the reference NSD is (refserver.sh), strictly
    /// equal to NSD's answers (Tests/conformance/identity.corpus).
    @Test func identityCorpusMatchesNSDStrictly() throws {
        let (status, out) = try Self.runStrictly("Tests/conformance/identity.corpus",
                                                 cairnArgs: "--identity dnsdiff --server-version dnsdiff --nsid ascii_dnsdiff")
        #expect(status == 0, "identity conformance failed:\n\(out.suffix(6000))")
        #expect(out.contains(" passed, 0 failed"), "\(out.suffix(2000))")
    }

    /// Message structure (RFC 6891 §6.1.1, RFC 8945 §5.1, §5.2: records where a query has none,
    /// OPT and TSIG placement, TSIG with an unknown key) and DNAME answers for every qtype
    /// (RFC 6672 §3.1), strictly equal to NSD's (Tests/conformance/structure.corpus).
    @Test func structureCorpusMatchesNSDStrictly() throws {
        let (status, out) = try Self.runStrictly("Tests/conformance/structure.corpus")
        #expect(status == 0, "structure conformance failed:\n\(out.suffix(6000))")
        #expect(out.contains(" passed, 0 failed"), "\(out.suffix(2000))")
        #expect(!out.contains("DIFF"))
    }

    /// CNAME pools (issue 17 item 7), which NSD cannot serve, against their static equivalent: NSD serves the zones
    /// plus a static CNAME to each pool's target, Cairn the zones unchanged plus one-member CNAME pools at those
    /// names; every answer of Tests/conformance/cname-pool.corpus must be equal, strictly.
    @Test func cnamePoolCorpusMatchesAStaticCNAMEToTheChosenTarget() throws {
        let targets = [("pool-www", "www.conf.example."), ("pool-chain", "chain1.conf.example."), ("pool-ext", "target.other.test."),
                       ("pool-extnx", "nowhere.invalid."), ("pool-dangling", "nothere.conf.example."),
                       ("pool-self", "pool-self.conf.example."), ("pool-loop", "loop1.conf.example."),
                       ("pool-wild", "something.wild.conf.example."), ("pool-dname", "www.dn.conf.example."),
                       ("pool-deleg", "www.sub.conf.example."), ("pool-apex", "conf.example."), ("pool-mx", "mail.conf.example.")]
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let zones = Paths.fixture("Tests/conformance/zones")
        let ref = dir.appendingPathComponent("ref")
        try FileManager.default.createDirectory(at: ref, withIntermediateDirectories: true)
        let conf = try String(contentsOf: zones.appendingPathComponent("conf.example.zone"), encoding: .utf8)
        try (conf + "\n" + targets.map { "\($0.0) 3600 IN CNAME \($0.1)" }.joined(separator: "\n") + "\n")
            .write(to: ref.appendingPathComponent("conf.example.zone"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: zones.appendingPathComponent("other.test.zone"), to: ref.appendingPathComponent("other.test.zone"))
        let yaml = "sites:\n  - {name: a}\npools:\n" + targets.map {
            "  - {name: \($0.0).conf.example., type: CNAME, ttl: 3600, members: [{site: a, target: \($0.1)}]}"
        }.joined(separator: "\n") + "\n"
        let apply = dir.appendingPathComponent("cname-pools.yaml")
        try yaml.write(to: apply, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["CAIRN_BIN"] = Paths.cairnBinary.path
        env["DNSDIFF_ARGS"] = "--strict"
        env["CONF_ZONES"] = ref.path
        env["CAND_ZONES"] = zones.path
        env["CAIRN_APPLY"] = apply.path
        let (status, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/bin/bash"),
                                                          [Paths.fixture("scripts/conformance").path,
                                                           Paths.fixture("Tests/conformance/cname-pool.corpus").path],
                                                          cwd: Paths.packageRoot, env: env)
        #expect(status == 0, "CNAME pool conformance failed:\n\(out.suffix(6000))")
        #expect(out.contains(" passed, 0 failed"), "\(out.suffix(2000))")
        #expect(!out.contains("DIFF"))
    }
}
