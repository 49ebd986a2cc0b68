import DNSWire
import Foundation
import Testing

/// GSLB end to end: `cairn apply` writes a real SQLite file, `cairn serve` answers
/// pools over real UDP and TCP, changes by another process show within 1 s.
@Suite(.serialized) struct GSLBTests {
    static let zone = """
    $ORIGIN gslb.test.
    $TTL 300
    @   IN SOA ns hostmaster 1 3600 600 86400 60
    @   IN NS  ns
    ns  IN A   192.0.2.53
    static IN A 192.0.2.99
    """

    static func config(fraWeight: Int = 100, extraSite: Bool = false) -> String {
        """
        sites:
          - {name: fra, region: eu, location: {lat: 50.11, lon: 8.68}, capacity: 1000}
          - {name: iad, region: us, location: {lat: 38.95, lon: -77.45}}
        \(extraSite ? "  - {name: sin, region: ap, location: {lat: 1.35, lon: 103.82}}" : "")
        pools:
          - name: www.gslb.test.
            type: A
            policy: closest
            ttl: 30
            answers: 1
            ecs: true
            fallback: all
            members:
              - {site: fra, address: 192.0.2.10, weight: \(fraWeight), priority: 1}
              - {site: iad, address: 198.51.100.10, weight: 50, priority: 2}
          - name: www.gslb.test.
            type: AAAA
            policy: failover
            members:
              - {site: fra, address: "2001:db8::10"}
        topology:
          - {network: 203.0.113.0/24, region: eu}
          - {network: 198.51.100.0/24, region: us}
          - {network: 127.0.0.0/8, site: iad}
        """
    }

    struct Env {
        let dir: URL
        var zones: String { dir.appendingPathComponent("zones").path }
        var db: String { dir.appendingPathComponent("cairn.sqlite").path }
        func file(_ name: String, _ text: String) throws -> String {
            let p = dir.appendingPathComponent(name).path
            try text.write(toFile: p, atomically: true, encoding: .utf8)
            return p
        }
    }

    static func makeEnv() throws -> Env {
        let dir = try Paths.tempDir()
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("zones"), withIntermediateDirectories: true)
        try zone.write(to: dir.appendingPathComponent("zones/gslb.test.zone"), atomically: true, encoding: .utf8)
        return Env(dir: dir)
    }

    static func ecs(_ a: [UInt8], _ p: UInt8) -> [(code: UInt16, data: [UInt8])] { [QueryBuilder.clientSubnet(address: a, prefix: p)] }

    static func addresses(_ m: Message) -> [String] { m.answer.map { RDataText.format(type: $0.type, rdata: $0.rdata) } }

    @Test func appliedPoolsAnswerByClientSubnetOverUDPAndTCP() throws {
        let env = try Self.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let f = try env.file("gslb.yaml", Self.config())
        let (rc, out) = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        #expect(rc == 0, "\(out)")
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0"])
        // No ECS: the source address 127.0.0.1 → topology 127/8 → site iad.
        #expect(Self.addresses(try DNSClient.udp("www.gslb.test.", .a, port: server.port)) == ["198.51.100.10"])
        // ECS from Europe → fra, scope 24; from the US → iad.
        let eu = try DNSClient.udp("www.gslb.test.", .a, port: server.port, edns: (1232, false), options: Self.ecs([203, 0, 113, 0], 24))
        #expect(Self.addresses(eu) == ["192.0.2.10"])
        #expect(eu.ednsOptions.first { $0.code == 8 }?.data == [0, 1, 24, 24, 203, 0, 113])
        #expect(eu.answer.first?.ttl == 30)
        let us = try DNSClient.udp("www.gslb.test.", .a, port: server.port, edns: (1232, false), options: Self.ecs([198, 51, 100, 0], 24))
        #expect(Self.addresses(us) == ["198.51.100.10"])
        // TCP sees the same decision (source 127.0.0.1 → iad).
        #expect(Self.addresses(try DNSClient.tcp("www.gslb.test.", .a, port: server.port)) == ["198.51.100.10"])
        #expect(Self.addresses(try DNSClient.udp("www.gslb.test.", .aaaa, port: server.port)) == ["2001:db8::10"])
        // Static data beside pools is untouched.
        #expect(Self.addresses(try DNSClient.udp("static.gslb.test.", .a, port: server.port)) == ["192.0.2.99"])
    }

    @Test func aChangeAppliedByAnotherProcessShowsWithinOneSecond() throws {
        let env = try Self.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let f = try env.file("gslb.yaml", Self.config())
        _ = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0"])
        #expect(Self.addresses(try DNSClient.udp("www.gslb.test.", .a, port: server.port)) == ["198.51.100.10"])
        // Move the 127/8 topology entry to fra, from a second process.
        let moved = Self.config().replacingOccurrences(of: "{network: 127.0.0.0/8, site: iad}", with: "{network: 127.0.0.0/8, site: fra}")
        let f2 = try env.file("gslb2.yaml", moved)
        let (rc, out) = try CairnProcess.run(["apply", "-f", f2, "--db", env.db, "--zones", env.zones])
        #expect(rc == 0, "\(out)")
        let t0 = Date()
        var seen: [String] = []
        while Date().timeIntervalSince(t0) < 1.0 {
            seen = Self.addresses(try DNSClient.udp("www.gslb.test.", .a, port: server.port))
            if seen == ["192.0.2.10"] { break }
            usleep(10_000)
        }
        #expect(seen == ["192.0.2.10"], "not visible within 1 s")
    }

    @Test func anInvalidFileChangesNothing() throws {
        let env = try Self.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let f = try env.file("gslb.yaml", Self.config())
        _ = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0"])
        let before = try DNSClient.udp("www.gslb.test.", .a, port: server.port, edns: (1232, false), options: Self.ecs([203, 0, 113, 0], 24))
        let (_, exportBefore) = try CairnProcess.run(["export", "--db", env.db])
        let dbBytes = try Data(contentsOf: URL(fileURLWithPath: env.db))
        let bad = Self.config(fraWeight: -5).replacingOccurrences(of: "198.51.100.10", with: "198.51.100.300")
        let fb = try env.file("bad.yaml", bad)
        let (rc, out) = try CairnProcess.run(["apply", "-f", fb, "--db", env.db, "--zones", env.zones])
        #expect(rc != 0)
        #expect(out.contains("pools[0].members[1].address"), "\(out)")
        #expect(out.contains("pools[0].members[0].weight"), "\(out)")
        usleep(400_000)
        let after = try DNSClient.udp("www.gslb.test.", .a, port: server.port, edns: (1232, false), options: Self.ecs([203, 0, 113, 0], 24))
        #expect(after.answer == before.answer)
        #expect(try CairnProcess.run(["export", "--db", env.db]).1 == exportBefore)
        #expect(try Data(contentsOf: URL(fileURLWithPath: env.db)) == dbBytes)
    }

    @Test func exportThenApplyIsANoOp() throws {
        let env = try Self.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let f = try env.file("gslb.yaml", Self.config(extraSite: true))
        _ = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        let (_, exported) = try CairnProcess.run(["export", "--db", env.db])
        let f2 = try env.file("exported.yaml", exported)
        let (rc, out) = try CairnProcess.run(["apply", "-f", f2, "--db", env.db, "--zones", env.zones])
        #expect(rc == 0)
        #expect(out.contains("no changes"), "\(out)")
    }

    @Test func explainShowsTheDecision() throws {
        let env = try Self.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let f = try env.file("gslb.yaml", Self.config())
        _ = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        let (rc, out) = try CairnProcess.run(["explain", "www.gslb.test.", "--type", "A", "--client", "192.0.2.1",
                                              "--ecs", "203.0.113.0/24", "--db", env.db, "--zones", env.zones])
        #expect(rc == 0, "\(out)")
        #expect(out.contains("policy: closest"))
        #expect(out.contains("203.0.113.0/24 → region eu"))
        #expect(out.contains("* 192.0.2.10"))
        #expect(out.contains("ecs scope: 24"))
    }

    @Test func theExampleFileOfTheRepositoryAppliesToTheExampleZone() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("x.sqlite").path
        let (rc, out) = try CairnProcess.run(["apply", "-f", Paths.fixture("examples/gslb.yaml").path, "--db", db,
                                              "--zones", Paths.fixture("zones").path])
        #expect(rc == 0, "\(out)")
        let server = try CairnProcess(["serve", "--zones", Paths.fixture("zones").path, "--db", db, "--dns", "127.0.0.1:0"])
        let eu = try DNSClient.udp("www.example.com.", .a, port: server.port, edns: (1232, false), options: Self.ecs([192, 0, 2, 0], 24))
        let us = try DNSClient.udp("www.example.com.", .a, port: server.port, edns: (1232, false), options: Self.ecs([198, 51, 100, 0], 24))
        #expect(!eu.answer.isEmpty && !us.answer.isEmpty)
        #expect(eu.answer != us.answer, "clients in different places get different answers")
    }
}
