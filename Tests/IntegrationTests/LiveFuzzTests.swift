import Foundation
import Testing

/// scripts/fuzz-live --quick against the built (debug) server: 20,000 mutated datagrams and 200 mutated
/// TCP streams on loopback, a well-formed query answered correctly within 1 s after every 10,000
/// datagrams and every 100 streams, VmRSS within ±10 % of its value after the warm-up, and exit
/// status 0 on SIGTERM at the end (docs/fuzzing.md, "Live fuzzing").
@Suite struct LiveFuzzTests {
    @Test func quickLiveFuzzKeepsTheServerAliveAnsweringAndFlat() throws {
        var env = ProcessInfo.processInfo.environment
        env["CAIRN_BIN"] = Paths.cairnBinary.path
        env["FUZZ_SEED"] = env["FUZZ_SEED"] ?? "1"
        env.removeValue(forKey: "N_UDP")
        env.removeValue(forKey: "N_TCP")
        env.removeValue(forKey: "SECS")
        // The script bounds itself (SECS=120 in --quick; about 15 s here); timeout(1) is the last guard.
        let (status, out) = try CairnProcess.runCapturing(
            URL(fileURLWithPath: "/usr/bin/timeout"),
            ["--kill-after=10", "240", Paths.fixture("scripts/fuzz-live").path, "--quick"],
            cwd: Paths.packageRoot, env: env)
        #expect(status == 0, "scripts/fuzz-live --quick failed:\n\(out.suffix(6000))")
        #expect(out.contains("## fuzz-live --quick — PASS"), "\(out.suffix(3000))")
        #expect(out.contains("| UDP datagrams sent | 20,000 "), "\(out.suffix(3000))")
        #expect(out.contains("| TCP streams | 200 "), "\(out.suffix(3000))")
        #expect(out.contains(" 0 failed"), "\(out.suffix(3000))")
        #expect(out.contains("| exit status after SIGTERM | 0"), "\(out.suffix(3000))")
    }
}
