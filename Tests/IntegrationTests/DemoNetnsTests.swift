import Foundation
import Testing

/// scripts/demo-netns: docker-compose.yml's topology built with network namespaces (one per
/// site, one for Unbound, one for the client, one for PostgreSQL, one per Cairn node), run for real.
@Suite struct DemoNetnsTests {
    @Test func bothNodesMoveWhenASiteFailsADrainThroughOneMovesTheOtherAndBothAnswerWithoutTheDatabase() throws {
        var env = ProcessInfo.processInfo.environment
        env["CAIRN_BIN"] = Paths.cairnBinary.path
        // The script bounds itself (about 30 s; scripts/setup-deps installs unbound and postgresql);
        // timeout(1) is the last guard.
        let (status, out) = try CairnProcess.runCapturing(
            URL(fileURLWithPath: "/usr/bin/timeout"),
            ["--kill-after=10", "180", Paths.packageRoot.appendingPathComponent("scripts/demo-netns").path],
            env: env)
        if status == 77 {
            // Namespaces not permitted (not root, no CAP_SYS_ADMIN), no unbound or no PostgreSQL.
            let reason = out.split(separator: "\n").last { $0.contains("SKIP") }.map(String.init) ?? out
            try Test.cancel(Comment(rawValue: reason))
        }
        #expect(status == 0, "scripts/demo-netns failed:\n\(out)")
        #expect(out.contains("client -> unbound: www.example.com A 192.0.2.101"))
        #expect(out.contains("GET http://192.0.2.101:8080/ -> site fra"))
        #expect(out.contains("unbound asked cairn again: www.example.com A 198.51.100.101; GET -> site iad"))
        #expect(out.contains("real state up → down"))
        #expect(out.contains("both nodes moved to iad"))
        // (b) a drain through ns1 is in ns2's answers; (c) no database, still answers, writes 503
        #expect(out.contains("(b) cairn drain iad through ns1's API"))
        #expect(out.contains("0 wrong (want sin's 203.0.113.101)"))
        #expect(out.contains("while the database is down: HTTP503"))
        #expect(out.contains("drain lifted through ns2's API (HTTP 204)"))
        #expect(out.contains("(d) cairn drill run --site iad --resolver 198.51.100.70"), "the drill through unbound")
        #expect(out.contains("| Started by | token:demo on node ns1"))
        #expect(out.contains("demo-netns: OK"))
        // torn down: none of its namespaces is left
        let (_, list) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/sbin/ip"), ["netns", "list"])
        let prefix = out.split(separator: "\n").first { $0.contains("namespaces cairn-demo-") }
            .flatMap { line in line.range(of: "cairn-demo-[0-9a-f]{4}-", options: .regularExpression).map { String(line[$0]) } }
        let p = try #require(prefix, "no namespace prefix in the transcript")
        #expect(!list.contains(p), "namespaces \(p)* left behind:\n\(list)")
    }
}
