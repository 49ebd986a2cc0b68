import GSLBCore
import HealthService
import Testing

@Suite struct CommandProberTests {
    let prober = CommandProber()

    func spec(_ command: String, timeoutMs: Int = 2000, address: String = "127.0.0.1", port: Int = 8080, pool: String = "web") -> ProbeSpec {
        ProbeSpec(address: address, port: port,
                  monitor: Monitor(name: "script", type: .command, timeoutMs: timeoutMs, options: ["command": command]),
                  poolName: pool)
    }

    @Test func exitZeroIsUp() async {
        let r = await prober.probe(spec(#"["/bin/sh","-c","exit 0"]"#))
        #expect(r.ok, "\(r)")
        #expect(r.detail == "exit status 0")
    }

    @Test func exitOneIsDown() async {
        let r = await prober.probe(spec(#"["/bin/sh","-c","exit 1"]"#))
        #expect(!r.ok)
        #expect(r.detail == "exit status 1", "\(r)")
    }

    @Test func firstLineOfOutputIsInTheDetail() async {
        let r = await prober.probe(spec(#"["/bin/sh","-c","echo disk full >&2; echo more; exit 2"]"#))
        #expect(!r.ok)
        #expect(r.fullDetail == "exit status 2: disk full", "\(r)")
        #expect(r.detail == "exit status 2" && r.output == "disk full", "the output is kept apart from the verdict (admin only)")
    }

    @Test func commandPastTheTimeoutIsKilledAndDown() async {
        let clock = ContinuousClock()
        let t0 = clock.now
        let r = await prober.probe(spec(#"["sleep","5"]"#, timeoutMs: 300))
        let elapsed = clock.now - t0
        #expect(!r.ok)
        #expect(r.detail == "timeout after 300 ms", "\(r)")
        #expect(r.latency >= 0.29 && r.latency <= 2.5, "\(r)")
        // Wall clock includes the test process's scheduling: sync integration tests can hold both threads of the
        // cooperative pool for ~30 s in a full run; `latency` (measured at the kill) is what proves the timeout.
        #expect(elapsed < .seconds(120), "\(elapsed)")
    }

    @Test func shellThatSleepsPastTheTimeoutIsKilledWithItsChildren() async {
        let clock = ContinuousClock()
        let t0 = clock.now
        let r = await prober.probe(spec(#"["/bin/sh","-c","sleep 5; exit 0"]"#, timeoutMs: 300))
        #expect(!r.ok)
        #expect(r.detail == "timeout after 300 ms", "\(r)")
        #expect(r.latency <= 2.5, "\(r)")
        #expect(clock.now - t0 < .seconds(120))   // see commandPastTheTimeoutIsKilledAndDown
    }

    @Test func addressPortAndPoolAreSubstituted() async {
        let r = await prober.probe(spec(#"["/bin/sh","-c","test \"{address}\" = 127.0.0.1 && test {port} = 8080 && test {pool} = web"]"#))
        #expect(r.ok, "\(r)")
        let other = await prober.probe(spec(#"["test","{address}","=","127.0.0.1"]"#, address: "127.0.0.2"))
        #expect(!other.ok)
        #expect(other.detail == "exit status 1")
    }

    @Test func missingExecutableIsDown() async {
        let r = await prober.probe(spec(#"["/nonexistent/check"]"#))
        #expect(!r.ok)
        #expect(r.detail.hasPrefix("exec: "), "\(r)")
        let none = await prober.probe(spec(#"["no-such-check-command"]"#))
        #expect(none.detail == "exec: no-such-check-command: not found")
    }

    @Test func plainStringCommandIsSplitAtWhiteSpace() async {
        let r = await prober.probe(spec("test {port} -eq 8080"))
        #expect(r.ok, "\(r)")
    }
}
