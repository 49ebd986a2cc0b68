import DNSWire
import Foundation
import Testing

/// The real `cairn serve` on ephemeral ports, queried over real UDP and TCP.
@Suite(.serialized) struct ServeTests {
    static let confZones = Paths.fixture("Tests/conformance/zones").path

    @Test func answersAuthoritativelyOverUDPAndTCP() throws {
        let server = try CairnProcess(["serve", "--zones", Self.confZones, "--dns", "127.0.0.1:0", "--udp-workers", "2"])
        let u = try DNSClient.udp("www.conf.example.", .a, port: server.port)
        #expect(u.rcode == .noError)
        #expect(u.aa)
        #expect(u.answer.map(\.description) == ["www.conf.example. 3600 IN A 192.0.2.20"])
        let t = try DNSClient.tcp("www.conf.example.", .a, port: server.port)
        #expect(t.answer == u.answer)
        #expect(t.id == 0x4343)
    }

    /// `--udp-cpus` pins the UDP workers (named `cairn-udp-N` in the kernel, as the scheduler is `cairn-health`) round robin; a CPU the machine
    /// lacks is refused with the flag named.
    @Test func udpCPUsPinsTheNamedUDPWorkers() throws {
        let cpus = ProcessInfo.processInfo.processorCount
        let list = cpus > 1 ? "0-1" : "0"
        let server = try CairnProcess(["serve", "--zones", Self.confZones, "--dns", "127.0.0.1:0", "--udp-workers", "3", "--udp-cpus", list])
        let u = try DNSClient.udp("www.conf.example.", .a, port: server.port)
        #expect(u.rcode == .noError)
        let pid = server.process.processIdentifier
        var pinned: [String: String] = [:]
        var names: Set<String> = []
        for t in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") {
            let comm = (try? String(contentsOfFile: "/proc/\(pid)/task/\(t)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            names.insert(comm)
            guard comm.hasPrefix("cairn-udp-") else { continue }
            let status = try String(contentsOfFile: "/proc/\(pid)/task/\(t)/status", encoding: .utf8)
            pinned[comm] = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }?
                .split(separator: ":").last?.trimmingCharacters(in: .whitespaces)
        }
        #expect(pinned == (cpus > 1 ? ["cairn-udp-0": "0", "cairn-udp-1": "1", "cairn-udp-2": "0"]
                                     : ["cairn-udp-0": "0", "cairn-udp-1": "0", "cairn-udp-2": "0"]), "\(pinned)")
        // The health scheduler's thread carries its name too (docs/health.md calls it `cairn-health`).
        #expect(names.contains("cairn-health"), "\(names.sorted())")
        let (status, out) = try CairnProcess.run(["serve", "--zones", Self.confZones, "--dns", "127.0.0.1:0", "--udp-cpus", "\(cpus + 7)"])
        #expect(status != 0)
        #expect(out.contains("--udp-cpus: CPU \(cpus + 7) does not exist"), "\(out)")
    }

    @Test func exampleZoneInTheRepositoryServes() throws {
        let server = try CairnProcess(["serve", "--zones", Paths.fixture("zones").path, "--dns", "127.0.0.1:0"])
        let m = try DNSClient.udp("example.com.", .soa, port: server.port)
        #expect(m.rcode == .noError && m.aa && m.answer.count == 1)
        let nx = try DNSClient.udp("no-such-name.example.com.", .a, port: server.port)
        #expect(nx.rcode == .nxDomain)
        #expect(nx.authority.first?.type == .soa)
        let refused = try DNSClient.udp("example.org.", .a, port: server.port)
        #expect(refused.rcode == .refused)
    }

    @Test func severalQueriesOnOneTCPConnectionAreAnsweredInOrder() throws {
        let server = try CairnProcess(["serve", "--zones", Self.confZones, "--dns", "127.0.0.1:0"])
        let fd = try DNSClient.tcpConnect(port: server.port)
        defer { close(fd) }
        var batch: [UInt8] = []
        let names = ["www.conf.example.", "mail.conf.example.", "nonexistent.conf.example.", "conf.example."]
        for (i, n) in names.enumerated() {
            batch += DNSClient.framed(QueryBuilder.make(id: UInt16(100 + i), name: try DomainName(n), type: .a))
        }
        DNSClient.tcpSend(fd, batch)
        for i in 0..<names.count {
            let r = try #require(DNSClient.tcpReadMessage(fd))
            let m = try Message(bytes: r)
            #expect(m.id == UInt16(100 + i))
        }
    }

    @Test func largeAnswersTruncateOverUDPAndCompleteOverTCP() throws {
        let server = try CairnProcess(["serve", "--zones", Self.confZones, "--dns", "127.0.0.1:0"])
        let u = try DNSClient.udp("big.conf.example.", .a, port: server.port)
        #expect(u.tc)
        #expect(u.answer.isEmpty)
        let e = try DNSClient.udp("big.conf.example.", .a, port: server.port, edns: (4096, false))
        #expect(!e.tc && e.answer.count == 40)
        let t = try DNSClient.tcp("huge.conf.example.", .txt, port: server.port)
        #expect(!t.tc && t.answer.count == 20)
    }

    @Test func anIdleTCPConnectionIsClosed() throws {
        let server = try CairnProcess(["serve", "--zones", Self.confZones, "--dns", "127.0.0.1:0", "--tcp-idle-timeout", "1"])
        let fd = try DNSClient.tcpConnect(port: server.port)
        defer { close(fd) }
        #expect(DNSClient.peerClosed(fd, within: 5))
    }

    @Test func newConnectionsAreServedWhenIdleOnesHoldTheCap() throws {
        let server = try CairnProcess(["serve", "--zones", Self.confZones, "--dns", "127.0.0.1:0", "--tcp-max-connections", "4"])
        var idle: [Int32] = []
        defer { idle.forEach { close($0) } }
        for _ in 0..<8 {
            idle.append(try DNSClient.tcpConnect(port: server.port))
            usleep(20_000)
        }
        let m = try DNSClient.tcp("www.conf.example.", .a, port: server.port)
        #expect(m.rcode == .noError)
        // The oldest idle connections were closed to make room.
        #expect(DNSClient.peerClosed(idle[0], within: 2))
    }

    @Test func reloadServesNewDataAndKeepsTheLastGoodZoneOnError() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let zone = dir.appendingPathComponent("reload.test.zone")
        func write(serial: Int, extra: String = "") throws {
            try """
            $ORIGIN reload.test.
            $TTL 300
            @ IN SOA ns hostmaster \(serial) 3600 600 86400 60
            @ IN NS ns
            ns IN A 192.0.2.1
            www IN A 192.0.2.\(serial % 250)
            \(extra)
            """.write(to: zone, atomically: true, encoding: .utf8)
        }
        try write(serial: 1)
        let pidFile = dir.appendingPathComponent("cairn.pid").path
        let server = try CairnProcess(["serve", "--zones", dir.path, "--dns", "127.0.0.1:0", "--pid-file", pidFile])
        #expect(try DNSClient.udp("www.reload.test.", .a, port: server.port).answer.first?.rdata == [192, 0, 2, 1])

        try write(serial: 2)
        let (rc, out) = try CairnProcess.run(["reload", "--pid-file", pidFile])
        #expect(rc == 0, "\(out)")
        // `cairn reload` waits for the outcome: the new data answers as soon as it returns.
        #expect(out.contains("reloaded (pid") && out.contains("0 errors"), "\(out)")
        #expect(try DNSClient.udp("www.reload.test.", .a, port: server.port).answer.first?.rdata == [192, 0, 2, 2])

        // A failed reload: `cairn reload` names the error and exits 1, as `cairn zone reload` does.
        try write(serial: 4, extra: "bad IN A 192.0.2.999")
        let (rcBad, outBad) = try CairnProcess.run(["reload", "--pid-file", pidFile])
        #expect(rcBad == 1, "\(outBad)")
        #expect(outBad.contains("reload.test.zone:7") && outBad.contains("1 errors"), "\(outBad)")

        // A broken zone: the error names file and line; version 2 keeps serving.
        try write(serial: 3, extra: "bad IN A 192.0.2.999")
        server.signal(SIGHUP)
        var logged = false
        for _ in 0..<100 {
            if server.stderr.value.contains("reload.test.zone:7") { logged = true; break }
            usleep(20_000)
        }
        #expect(logged, "\(server.stderr.value)")
        #expect(try DNSClient.udp("www.reload.test.", .a, port: server.port).answer.first?.rdata == [192, 0, 2, 2])
        #expect(try DNSClient.udp("reload.test.", .soa, port: server.port).answer.first?.soa?.serial == 2)
    }
}
