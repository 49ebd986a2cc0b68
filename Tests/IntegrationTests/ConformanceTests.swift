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
}
