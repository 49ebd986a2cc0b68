import Foundation
import GSLBCore
import HealthService
import Testing

@Suite struct MonitorProberTests {
    var prober: MonitorProber { TestServers.monitorProber }

    @Test func probesAreDispatchedByMonitorType() async throws {
        let tcp = try await TestServers.tcp("127.0.0.27") { SilentHandler() }
        let web = try await TestServers.tcp("127.0.0.27") { HTTPTestHandler(reply: .ok(), log: RequestLog()) }
        let dns = try await TestServers.dns("127.0.0.27", DNSReply(addresses: ["192.0.2.1"]))
        defer { Task { try? await tcp.close(); try? await web.close(); try? await dns.close() } }

        let t = await prober.probe(ProbeSpec(address: "127.0.0.27", port: tcp.port, monitor: Monitor(name: "t", type: .tcp)))
        #expect(t.ok && t.detail == "connected", "\(t)")
        let h = await prober.probe(ProbeSpec(address: "127.0.0.27", port: web.port, monitor: Monitor(name: "h", type: .http)))
        #expect(h.ok && h.detail == "HTTP 200", "\(h)")
        let d = await prober.probe(ProbeSpec(address: "127.0.0.27", port: dns.port,
                                             monitor: Monitor(name: "d", type: .dns, options: ["query": "health.example.net."])))
        #expect(d.ok && d.detail == "rcode NOERROR, 1 answer", "\(d)")
        let c = await TestServers.commandProber.probe(ProbeSpec(address: "127.0.0.27", port: 1,
                                             monitor: Monitor(name: "c", type: .command, options: ["command": #"["true"]"#])))
        #expect(c.ok && c.detail == "exit status 0", "\(c)")
    }

    @Test func commandMonitorsRunOnlyWhenAllowed() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-cmd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: marker) }
        let spec = ProbeSpec(address: "127.0.0.27", port: 1,
                             monitor: Monitor(name: "c", type: .command, options: ["command": "[\"/usr/bin/touch\", \"\(marker)\"]"]))
        let off = await prober.probe(spec)
        #expect(!off.ok && off.detail == CommandProber.disabledDetail, "\(off)")
        #expect(!FileManager.default.fileExists(atPath: marker), "a command ran although commands are off")
        let on = await TestServers.commandProber.probe(spec)
        #expect(on.ok, "\(on)")
        #expect(FileManager.default.fileExists(atPath: marker))
    }
}
