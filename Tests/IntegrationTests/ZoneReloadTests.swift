import DNSWire
import Foundation
import Testing

/// SIGHUP reloads of the real `cairn serve` cost what changed (issue 15): an unchanged zone directory
/// rebuilds nothing, and a change to one zone of several indexes that zone alone.
@Suite(.serialized) struct ZoneReloadTests {
    static func writeZone(_ dir: URL, _ origin: String, serial: Int, address: Int, include: String? = nil) throws {
        try """
        $ORIGIN \(origin)
        $TTL 300
        @ IN SOA ns hostmaster \(serial) 3600 600 86400 60
        @ IN NS ns
        ns IN A 192.0.2.1
        www IN A 192.0.2.\(address)
        \(include.map { "$INCLUDE \($0)" } ?? "")
        """.write(to: dir.appendingPathComponent("\(origin)zone"), atomically: true, encoding: .utf8)
    }

    /// Waits (up to 5 s) until the server's log has `count` lines containing `text`.
    static func waitForLog(_ server: CairnProcess, _ text: String, count: Int) -> Bool {
        for _ in 0..<250 {
            if server.stderr.value.components(separatedBy: "\n").filter({ $0.contains(text) }).count >= count { return true }
            usleep(20_000)
        }
        return false
    }

    static func published(_ server: CairnProcess) -> [String] {
        server.stderr.value.components(separatedBy: "\n").filter { $0.contains("published snapshot") }
    }

    @Test func aSIGHUPWithEveryZoneFileUnchangedRebuildsNothing() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
        extra IN A 192.0.2.77
        """.write(to: dir.appendingPathComponent("a.inc"), atomically: true, encoding: .utf8)
        try Self.writeZone(dir, "a.test.", serial: 1, address: 1, include: "a.inc")
        try Self.writeZone(dir, "b.test.", serial: 1, address: 2)
        let server = try CairnProcess(["serve", "--zones", dir.path, "--dns", "127.0.0.1:0"])
        #expect(try DNSClient.udp("extra.a.test.", .a, port: server.port).answer.first?.rdata == [192, 0, 2, 77])
        let before = Self.published(server)

        server.signal(SIGHUP)
        #expect(Self.waitForLog(server, "zones unchanged", count: 1), "\(server.stderr.value)")
        #expect(Self.published(server) == before, "\(server.stderr.value)")

        // The same bytes written again (a new mtime): the hash says unchanged.
        try Self.writeZone(dir, "b.test.", serial: 1, address: 2)
        server.signal(SIGHUP)
        #expect(Self.waitForLog(server, "zones unchanged", count: 2), "\(server.stderr.value)")
        #expect(Self.published(server) == before, "\(server.stderr.value)")

        // An included file changed: its zone is read again.
        try "extra IN A 192.0.2.78\n".write(to: dir.appendingPathComponent("a.inc"), atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        #expect(Self.waitForLog(server, "indexed: a.test.;", count: 1), "\(server.stderr.value)")
        #expect(try DNSClient.udp("extra.a.test.", .a, port: server.port).answer.first?.rdata == [192, 0, 2, 78])
    }

    @Test func aSIGHUPAfterOneZoneOfSeveralChangedIndexesThatZoneAlone() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (i, o) in ["a.test.", "b.test.", "c.test."].enumerated() { try Self.writeZone(dir, o, serial: 1, address: 10 + i) }
        let server = try CairnProcess(["serve", "--zones", dir.path, "--dns", "127.0.0.1:0"])
        #expect(Self.published(server).last?.contains("indexed: a.test. b.test. c.test.;") == true, "\(server.stderr.value)")

        try Self.writeZone(dir, "b.test.", serial: 2, address: 99)
        server.signal(SIGHUP)
        #expect(Self.waitForLog(server, "indexed: b.test.; 2 kept", count: 1), "\(server.stderr.value)")
        #expect(try DNSClient.udp("www.b.test.", .a, port: server.port).answer.first?.rdata == [192, 0, 2, 99])
        #expect(try DNSClient.udp("www.a.test.", .a, port: server.port).answer.first?.rdata == [192, 0, 2, 10])
        #expect(try DNSClient.udp("c.test.", .soa, port: server.port).answer.first?.soa?.serial == 1)

        // A zone removed is no longer served; the others are kept as they are.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("c.test.zone"))
        server.signal(SIGHUP)
        #expect(Self.waitForLog(server, "indexed: none; 2 kept", count: 1), "\(server.stderr.value)")
        #expect(try DNSClient.udp("www.c.test.", .a, port: server.port).rcode == .refused)
        #expect(try DNSClient.udp("www.b.test.", .a, port: server.port).answer.first?.rdata == [192, 0, 2, 99])
    }
}
