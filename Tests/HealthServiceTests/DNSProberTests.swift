import GSLBCore
import HealthService
import Testing

@Suite struct DNSProberTests {
    let prober = DNSProber(group: TestServers.group)

    func spec(_ port: Int, timeoutMs: Int = 500, options: [String: String] = [:]) -> ProbeSpec {
        var o = ["query": #"{"name":"health.example.net.","type":"A"}"#]
        o.merge(options) { $1 }
        return ProbeSpec(address: "127.0.0.26", port: port, monitor: Monitor(name: "dns", type: .dns, timeoutMs: timeoutMs, options: o))
    }

    @Test func noErrorAnswerWithAnARecordIsUp() async throws {
        let server = try await TestServers.dns("127.0.0.26", DNSReply(addresses: ["192.0.2.7"]))
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port))
        #expect(r.ok, "\(r)")
        #expect(r.detail == "rcode NOERROR, 1 answer")
    }

    @Test func servFailIsDown() async throws {
        let server = try await TestServers.dns("127.0.0.26", DNSReply(rcode: 2))
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port))
        #expect(!r.ok)
        #expect(r.detail == "rcode SERVFAIL", "\(r)")
    }

    @Test func expectRcodeCanAskForNXDOMAIN() async throws {
        let server = try await TestServers.dns("127.0.0.26", DNSReply(rcode: 3))
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port, options: ["expect_rcode": "NXDOMAIN"]))
        #expect(r.ok, "\(r)")
    }

    @Test func expectAddressMustBeInTheAnswer() async throws {
        let server = try await TestServers.dns("127.0.0.26", DNSReply(addresses: ["192.0.2.7", "192.0.2.8"]))
        defer { Task { try? await server.close() } }
        let present = await prober.probe(spec(server.port, options: ["expect_address": "192.0.2.8"]))
        #expect(present.ok, "\(present)")
        let absent = await prober.probe(spec(server.port, options: ["expect_address": "192.0.2.9"]))
        #expect(!absent.ok)
        #expect(absent.detail == "answer does not contain 192.0.2.9", "\(absent)")
    }

    @Test func silentServerIsDownByTimeout() async throws {
        let server = try await TestServers.dns("127.0.0.26", DNSReply(silent: true))
        defer { Task { try? await server.close() } }
        let clock = ContinuousClock()
        let t0 = clock.now
        let r = await prober.probe(spec(server.port, timeoutMs: 300))
        let elapsed = clock.now - t0
        #expect(!r.ok)
        #expect(r.detail == "timeout after 300 ms waiting for the answer", "\(r)")
        #expect(r.latency >= 0.29 && r.latency <= 2.5, "\(r)")
        #expect(elapsed < .seconds(30), "\(elapsed)")
    }

    @Test func closedPortIsDownBeforeTheTimeout() async throws {
        let server = try await TestServers.dns("127.0.0.26", DNSReply(silent: true))
        let port = server.port
        try await server.close()
        let r = await prober.probe(spec(port, timeoutMs: 2000))
        #expect(!r.ok)
        #expect(r.detail.contains("connection refused"), "\(r)")
        #expect(r.latency < 2.5, "\(r)")
    }
}
