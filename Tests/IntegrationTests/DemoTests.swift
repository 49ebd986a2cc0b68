import Foundation
import Testing

/// scripts/demo, the quick start that shows a failover: run for real (loopback only, about 5 s).
@Suite struct DemoTests {
    @Test func theDemoShowsAHealthyAnswerAKilledBackendTheAnswerMovingAndWhy() throws {
        var env = ProcessInfo.processInfo.environment
        env["CAIRN_BIN"] = Paths.cairnBinary.path
        let (status, out) = try CairnProcess.runCapturing(
            URL(fileURLWithPath: "/usr/bin/timeout"), ["--kill-after=10", "120", Paths.packageRoot.appendingPathComponent("scripts/demo").path],
            env: env)
        #expect(status == 0, "scripts/demo failed:\n\(out)")
        #expect(out.contains("1. dig www.example.com A -> 127.0.0.21 (fra"), "\(out)")
        #expect(out.contains("2. killing fra's backend"))
        #expect(out.contains("3. dig www.example.com A -> 127.0.0.22 (iad)"))
        #expect(out.contains("skipped: down") && out.contains("chosen by failover"), "explain says why: \(out)")
        // health shows real states, not unknown, before and after
        let health = out.components(separatedBy: "cairn health:")
        #expect(health.count == 3)
        #expect(health.dropFirst().allSatisfy { !$0.split(separator: "\n").prefix(4).contains { $0.contains("127.0.0.2") && $0.contains("unknown") } })
        #expect(out.hasSuffix("demo: OK\n"))
    }
}
