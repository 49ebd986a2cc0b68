import DNSWire
import Foundation
import Testing

/// CNAME pools end to end (issue 17 item 7): `cairn apply` writes a real SQLite file, `cairn serve` answers
/// over real UDP and TCP, targets are probed at their addresses in the zone by real TCP probes, and a killed
/// listener moves the answer to the next target.
@Suite(.serialized) struct CNAMEPoolServeTests {
    /// GSLBTests' zone with the two targets' addresses.
    static let zone = GSLBTests.zone + """

    fra IN A   127.0.0.141
    ams IN A   127.0.0.142
    """

    static func config(port: Int) -> String {
        """
        sites:
          - {name: fra, region: eu}
          - {name: ams, region: us}
        monitors:
          - {name: m, type: tcp, port: \(port), interval: 200ms, timeout: 150ms, rise: 2, fall: 2}
        pools:
          - name: www.gslb.test.
            type: CNAME
            policy: failover
            ttl: 30
            monitor: m
            members:
              - {site: fra, target: fra.gslb.test., priority: 1}
              - {site: ams, target: ams.gslb.test., priority: 2}
          - name: ext.gslb.test.
            type: CNAME
            members:
              - {site: fra, target: cdn.example.net.}
          - name: chain.gslb.test.
            type: CNAME
            members:
              - {site: fra, target: origin.gslb.test}
          - name: origin.gslb.test.
            members:
              - {site: fra, address: 192.0.2.77}
          - name: geo.gslb.test.
            type: CNAME
            policy: closest
            members:
              - {site: fra, target: fra.gslb.test.}
              - {site: ams, target: ams.gslb.test.}
        topology:
          - {network: 203.0.113.0/24, region: eu}
          - {network: 198.51.100.0/24, region: us}
        """
    }

    static func lines(_ m: Message) -> [String] {
        m.answer.map { "\($0.name) \($0.ttl) \($0.type) \(RDataText.format(type: $0.type, rdata: $0.rdata))" }
    }

    static func setup(port: Int) throws -> (GSLBTests.Env, CairnProcess) {
        let env = try GSLBTests.makeEnv()
        try zone.write(toFile: env.zones + "/gslb.test.zone", atomically: true, encoding: .utf8)
        let f = try env.file("gslb.yaml", config(port: port))
        let (rc, out) = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        #expect(rc == 0, "\(out)")
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0"])
        return (env, server)
    }

    /// Polls until `www.gslb.test. A` answers `want` or 8 s pass.
    static func waitFor(_ want: [String], port: Int) throws -> [String] {
        let deadline = Date().addingTimeInterval(8)
        var got: [String] = []
        while Date() < deadline {
            got = lines(try DNSClient.udp("www.gslb.test.", .a, port: port))
            if got == want { return got }
            usleep(50_000)
        }
        return got
    }

    @Test func aCNAMEPoolAnswersItsTargetChasedInTheZoneAndMovesWhenTheTargetDies() throws {
        let p = Backend.freePort()
        let fra = try Backend("127.0.0.141", p, mode: "tcp")
        let ams = try Backend("127.0.0.142", p, mode: "tcp")
        let (env, server) = try Self.setup(port: p)
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let viaFra = ["www.gslb.test. 30 CNAME fra.gslb.test.", "fra.gslb.test. 300 A 127.0.0.141"]
        #expect(try Self.waitFor(viaFra, port: server.port) == viaFra)
        // TCP gives the same; qtype CNAME gets the CNAME alone; AAAA: the CNAME, then NODATA at the target.
        #expect(Self.lines(try DNSClient.tcp("www.gslb.test.", .a, port: server.port)) == viaFra)
        #expect(Self.lines(try DNSClient.udp("www.gslb.test.", .cname, port: server.port)) == ["www.gslb.test. 30 CNAME fra.gslb.test."])
        let six = try DNSClient.udp("www.gslb.test.", .aaaa, port: server.port)
        #expect(six.rcode == .noError && Self.lines(six) == ["www.gslb.test. 30 CNAME fra.gslb.test."])
        #expect(six.authority.map(\.type) == [.soa])

        // Both targets are probed at their A records (fra's listener is seen up first); after it dies, the
        // answer moves to ams.
        let deadline = Date().addingTimeInterval(8)
        while !server.stderr.value.contains("127.0.0.141:\(p): real state unknown → up") && Date() < deadline { usleep(50_000) }
        #expect(server.stderr.value.contains("127.0.0.141:\(p): real state unknown → up"))
        fra.kill()
        let viaAms = ["www.gslb.test. 30 CNAME ams.gslb.test.", "ams.gslb.test. 300 A 127.0.0.142"]
        #expect(try Self.waitFor(viaAms, port: server.port) == viaAms)
        #expect(server.stderr.value.contains("127.0.0.141:\(p): real state up → down"))
        _ = ams

        // `cairn explain` from the store the server wrote its health to.
        let (rc, out) = try CairnProcess.run(["explain", "www.gslb.test.", "--db", env.db, "--zones", env.zones])
        #expect(rc == 0, "\(out)")
        #expect(out.contains("name: www.gslb.test. CNAME"), "\(out)")
        #expect(out.contains("ams.gslb.test.") && out.contains("fra.gslb.test."), "\(out)")
        #expect(out.contains("answer: NOERROR ams.gslb.test."), "\(out)")
        #expect(out.contains("skipped: down"), "\(out)")
        #expect(out.contains("note: a CNAME pool"), "\(out)")
    }

    @Test func targetsOutsideInsideAPoolAndByClientSubnetAnswerAsStaticCNAMEsWould() throws {
        let p = Backend.freePort()
        let (env, server) = try Self.setup(port: p)
        defer { try? FileManager.default.removeItem(at: env.dir) }
        // Outside every served zone: the CNAME alone, NOERROR, authoritative.
        let ext = try DNSClient.udp("ext.gslb.test.", .a, port: server.port)
        #expect(ext.rcode == .noError && ext.aa && ext.authority.isEmpty)
        #expect(Self.lines(ext) == ["ext.gslb.test. 30 CNAME cdn.example.net."])
        // A target that is itself a pool: that pool answers.
        #expect(Self.lines(try DNSClient.udp("chain.gslb.test.", .a, port: server.port))
                == ["chain.gslb.test. 30 CNAME origin.gslb.test.", "origin.gslb.test. 30 A 192.0.2.77"])
        // closest by ECS, with the topology entry's prefix as the scope.
        for (subnet, target, address) in [([UInt8]([203, 0, 113, 0]), "fra", "127.0.0.141"), ([198, 51, 100, 0], "ams", "127.0.0.142")] {
            let m = try DNSClient.udp("geo.gslb.test.", .a, port: server.port, edns: (1232, false), options: GSLBTests.ecs(subnet, 24))
            #expect(Self.lines(m) == ["geo.gslb.test. 30 CNAME \(target).gslb.test.", "\(target).gslb.test. 300 A \(address)"])
            #expect(m.ednsOptions.first { $0.code == 8 }?.data == [0, 1, 24, 24] + subnet.prefix(3))
        }
        // No other data at the name: ANY and TXT get the CNAME (TXT then NODATA at the target).
        #expect(Self.lines(try DNSClient.udp("geo.gslb.test.", RecordType(rawValue: 255), port: server.port)).count == 1)
        // An invalid CNAME pool is refused whole, naming the field, and the store is untouched.
        let (_, before) = try CairnProcess.run(["export", "--db", env.db])
        let bad = Self.config(port: p).replacingOccurrences(of: "target: ams.gslb.test.", with: "target: 192.0.2.1")
        let (rc, out) = try CairnProcess.run(["apply", "-f", try env.file("bad.yaml", bad), "--db", env.db, "--zones", env.zones])
        #expect(rc != 0)
        #expect(out.contains("pools[0].members[1].target: a CNAME pool's members are target names"), "\(out)")
        #expect(try CairnProcess.run(["export", "--db", env.db]).1 == before)
    }

    /// The API and the CLI: a CNAME pool created, members added, changed and removed by target, bad members
    /// refused naming the field, and `cairn explain` through the running server.
    @Test func theAPIAndTheCLIWorkWithTargets() throws {
        let s = try CLITests.Server()
        try s.ok("site", "create", "fra", "--region", "eu")
        try s.ok("pool", "create", "--data",
                 #"{"name": "www.gslb.test.", "type": "CNAME", "members": [{"site": "fra", "target": "static.gslb.test"}]}"#)
        #expect(Self.lines(try DNSClient.udp("www.gslb.test.", .a, port: s.process.port))
                == ["www.gslb.test. 30 CNAME static.gslb.test.", "static.gslb.test. 300 A 192.0.2.99"])
        let added = try s.ok("member", "add", "www.gslb.test", "--site", "fra", "--target", "edge.example.net.", "--priority", "2")
        #expect(added.contains("target: edge.example.net."), "\(added)")
        let members = try s.json("member", "list", "www.gslb.test.")["members"] as? [[String: Any]] ?? []
        #expect(members.compactMap { $0["target"] as? String } == ["static.gslb.test.", "edge.example.net."])
        #expect(members.allSatisfy { $0["address"] == nil })
        // An address in a CNAME pool, and both keys at once: 422 naming the field.
        var (rc, out) = try s.cairn(["member", "add", "www.gslb.test", "--site", "fra", "--address", "192.0.2.1"])
        #expect(rc == 1 && out.contains("address") && out.contains("target names, not addresses"), "\(out)")
        (rc, out) = try s.cairn(["member", "add", "www.gslb.test", "--site", "fra", "--address", "192.0.2.1", "--target", "x.example.net."])
        #expect(rc == 1 && out.contains("address or a target, not both"), "\(out)")
        // Changed and removed by target (with or without the trailing dot), seen in the answer.
        try s.ok("member", "update", "www.gslb.test", "static.gslb.test", "--state", "drain")
        #expect(Self.lines(try DNSClient.udp("www.gslb.test.", .a, port: s.process.port)) == ["www.gslb.test. 30 CNAME edge.example.net."])
        try s.ok("member", "remove", "www.gslb.test", "edge.example.net.")
        try s.ok("member", "update", "www.gslb.test", "STATIC.gslb.test.", "--state", "enabled")
        let explain = try s.json("explain", "www.gslb.test.", "--client", "127.0.0.1")
        #expect(explain["type"] as? String == "CNAME")
        #expect(explain["answer"] as? [String] == ["static.gslb.test."], "\(explain)")
        #expect(explain["fallback"] as? Bool == false)
    }
}
