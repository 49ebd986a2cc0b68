import Foundation
import Testing

/// NSID (RFC 5001) and the CH TXT identity names (issue 14 item 4): off by default, set per node by flags, so
/// that an operator of several nodes can tell which one answered. Compared with NSD in
/// `ConformanceTests.identityCorpusMatchesNSDStrictly`; here the values themselves.
@Suite(.serialized) struct IdentityTests {
    static func dig(_ port: Int, _ args: [String]) throws -> String {
        try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/dig"),
                                      ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1"] + args).1
    }

    @Test func offByDefault() throws {
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0"])
        let ch = try Self.dig(server.port, ["-c", "CH", "-t", "TXT", "-q", "id.server"])
        #expect(ch.contains("status: REFUSED"), "\(ch)")
        let nsid = try Self.dig(server.port, ["ns.gslb.test", "A", "+nsid"])
        #expect(nsid.contains("status: NOERROR") && !nsid.contains("NSID"), "\(nsid)")
    }

    @Test func eachNodeSaysWhoItIs() throws {
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0",
                                       "--nsid", "ascii_ns7", "--identity", "ns7.example.net", "--server-version", "cairn test"])
        let id = try Self.dig(server.port, ["-c", "CH", "-t", "TXT", "-q", "hostname.bind", "+short"])
        #expect(id.trimmingCharacters(in: .whitespacesAndNewlines) == "\"ns7.example.net\"", "\(id)")
        let version = try Self.dig(server.port, ["-c", "CH", "-t", "TXT", "-q", "version.server", "+short"])
        #expect(version.trimmingCharacters(in: .whitespacesAndNewlines) == "\"cairn test\"", "\(version)")
        let nsid = try Self.dig(server.port, ["ns.gslb.test", "A", "+nsid"])
        #expect(nsid.contains("NSID: 6e 73 37 (\"ns7\")"), "\(nsid)")
        let hex = try CairnProcess(["serve", "--zones", env.zones, "--db", env.dir.appendingPathComponent("h.sqlite").path,
                                    "--dns", "127.0.0.1:0", "--nsid", "cafe01"])
        #expect(try Self.dig(hex.port, ["ns.gslb.test", "A", "+nsid"]).contains("NSID: ca fe 01"))
        let (rc, out) = try CairnProcess.run(["serve", "--zones", env.zones, "--nsid", String(repeating: "ab", count: 129)])
        #expect(rc != 0 && out.contains("--nsid"), "\(out)")
    }
}
