import DNSWire
import GSLBCore
import Testing

/// CNAME pools (issue 17 item 7): the policy picks one target name, the answer is a CNAME to it, and the
/// target is chased inside the served zones exactly as a static CNAME's is.
@Suite struct CNAMEPoolTests {
    typealias F = GSLBFixture

    static func rr(_ n: String, _ t: RecordType, _ rdata: [UInt8], ttl: UInt32 = 300) -> ResourceRecord {
        ResourceRecord(name: try! DomainName(n), type: t, ttl: ttl, rdata: rdata)
    }

    /// The fixture's zone plus targets: two hosts with addresses, one with TXT only, a static CNAME, a
    /// second zone (`other.test.`).
    static func zones(extra: [ResourceRecord] = []) -> [ZoneContent] {
        let z = F.zone()
        let gslb = ZoneContent(origin: z.origin, records: z.records + [
            rr("fra.gslb.test.", .a, [192, 0, 2, 10]),
            rr("fra.gslb.test.", .aaaa, [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [10]),
            rr("ams.gslb.test.", .a, [192, 0, 2, 20]),
            rr("txtonly.gslb.test.", .txt, [2] + Array("hi".utf8)),
            rr("hop.gslb.test.", .cname, (try! DomainName("ams.gslb.test.")).wire),
        ] + extra, source: "memory")
        let o = try! DomainName("other.test.")
        let other = ZoneContent(origin: o, records: [
            rr("other.test.", .soa, (try! DomainName("ns.other.test.")).wire + (try! DomainName("h.other.test.")).wire
                + [0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 2, 88, 0, 9, 58, 128, 0, 0, 0, 60], ttl: 3600),
            rr("other.test.", .ns, (try! DomainName("ns.other.test.")).wire, ttl: 3600),
            rr("sin.other.test.", .a, [192, 0, 2, 40]),
        ], source: "memory")
        return [gslb, other]
    }

    static func pool(_ targets: [String], policy: PolicyKind = .failover, name: String = "www.gslb.test.") -> Pool {
        let sites = ["fra", "ams", "iad", "sin"]
        return Pool(name: name, type: "CNAME", policy: policy, ttl: 300,
                    members: targets.enumerated().map { i, t in Member(site: sites[i % 4], address: t, priority: i + 1) })
    }

    static func snapshot(_ pools: [Pool], health: [MemberHealth] = [], extra: [ResourceRecord] = []) throws -> ServingSnapshot {
        try SnapshotBuilder().build(zones: zones(extra: extra),
                                    gslb: GSLBState(config: GSLBConfig(sites: F.sites, pools: pools, topology: F.topology), health: health),
                                    now: 1000)
    }

    /// The whole response, parsed.
    static func ask(_ snap: ServingSnapshot, _ name: String = "www.gslb.test.", type: RecordType = .a,
                    client: String = "192.0.2.200", ecs: (String, UInt8)? = nil) throws -> (Message, [UInt8]) {
        var opts: [(code: UInt16, data: [UInt8])] = []
        if let (a, p) = ecs { opts.append(QueryBuilder.clientSubnet(address: ClientAddress(text: a)!.bytes, prefix: p)) }
        let q = QueryBuilder.make(name: try DomainName(name), type: type, edns: (1232, false), options: opts)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { out.deallocate() }
        let engine = AnswerEngine(seed: 7)
        let n = q.withUnsafeBytes { engine.respond(to: $0, transport: .udp, snapshot: snap, client: ClientAddress(text: client)!, into: out) }
        let bytes = Array(out[0..<n])
        return (try Message(bytes: bytes), bytes)
    }

    static func lines(_ rrs: [ResourceRecord]) -> [String] {
        rrs.map { "\($0.name) \($0.type) \(RDataText.format(type: $0.type, rdata: $0.rdata))" }
    }

    @Test func theAnswerIsACNAMEToTheChosenTargetFollowedByItsAddresses() throws {
        let snap = try Self.snapshot([Self.pool(["fra.gslb.test.", "ams.gslb.test."])])
        let (m, _) = try Self.ask(snap)
        #expect(m.rcode == .noError && m.aa)
        #expect(Self.lines(m.answer) == ["www.gslb.test. CNAME fra.gslb.test.", "fra.gslb.test. A 192.0.2.10"])
        let (six, _) = try Self.ask(snap, type: .aaaa)
        #expect(Self.lines(six.answer) == ["www.gslb.test. CNAME fra.gslb.test.", "fra.gslb.test. AAAA 2001:db8::a"])
    }

    @Test func aTargetGoingDownMovesTheAnswerToTheNextOne() throws {
        let snap = try Self.snapshot([Self.pool(["fra.gslb.test.", "ams.gslb.test."])],
                                     health: [F.down("www.gslb.test.", "fra.gslb.test.")])
        let (m, _) = try Self.ask(snap)
        #expect(Self.lines(m.answer) == ["www.gslb.test. CNAME ams.gslb.test.", "ams.gslb.test. A 192.0.2.20"])
    }

    @Test func qtypeCNAMEAndANYGetTheCNAMEAlone() throws {
        let snap = try Self.snapshot([Self.pool(["fra.gslb.test."])])
        for t in [RecordType.cname, RecordType(rawValue: 255)] {
            let (m, _) = try Self.ask(snap, type: t)
            #expect(m.rcode == .noError && m.authority.isEmpty)
            #expect(Self.lines(m.answer) == ["www.gslb.test. CNAME fra.gslb.test."], "\(t)")
        }
    }

    @Test func aTargetOutsideTheServedZonesEndsTheChainWithTheCNAME() throws {
        let snap = try Self.snapshot([Self.pool(["cdn.example.net."])])
        let (m, _) = try Self.ask(snap)
        #expect(m.rcode == .noError && m.aa && m.authority.isEmpty)
        #expect(Self.lines(m.answer) == ["www.gslb.test. CNAME cdn.example.net."])
    }

    @Test func aTargetThatIsAPoolIsAnsweredByThatPool() throws {
        let target = Pool(name: "origin.gslb.test.", policy: .failover, members: [Member(site: "fra", address: "192.0.2.77")])
        let snap = try Self.snapshot([Self.pool(["origin.gslb.test."]), target])
        let (m, _) = try Self.ask(snap)
        #expect(Self.lines(m.answer) == ["www.gslb.test. CNAME origin.gslb.test.", "origin.gslb.test. A 192.0.2.77"])
    }

    @Test func aLoopThroughAPoolStopsAsAStaticLoopDoes() throws {
        // www (pool) → loop.gslb.test. (static CNAME) → www: each name answered once.
        let snap = try Self.snapshot([Self.pool(["loop.gslb.test."])],
                                     extra: [Self.rr("loop.gslb.test.", .cname, (try DomainName("www.gslb.test.")).wire)])
        let (m, _) = try Self.ask(snap)
        #expect(m.rcode == .noError)
        #expect(Self.lines(m.answer) == ["www.gslb.test. CNAME loop.gslb.test.", "loop.gslb.test. CNAME www.gslb.test."])
    }

    /// NSD cannot answer a pool, but a pool's answer must be the answer of a static CNAME to the target it
    /// chose: same bytes, for targets with data, without the type asked, missing, in another zone, outside.
    @Test func theAnswerIsByteForByteThatOfAStaticCNAMEToTheChosenTarget() throws {
        let targets = ["fra.gslb.test.", "txtonly.gslb.test.", "missing.gslb.test.", "hop.gslb.test.", "sin.other.test.",
                       "cdn.example.net."]
        for target in targets {
            let pooled = try Self.snapshot([Self.pool([target])])
            let plain = try Self.snapshot([], extra: [Self.rr("www.gslb.test.", .cname, (try DomainName(target)).wire)])
            for t in [RecordType.a, .aaaa, .txt, .cname, .mx, RecordType(rawValue: 255)] {
                let (pm, pb) = try Self.ask(pooled, type: t)
                let (sm, sb) = try Self.ask(plain, type: t)
                #expect(pb == sb, "\(target) \(t): pool \(pm) vs static \(sm)")
            }
        }
    }

    @Test func closestPicksTheTargetNearTheClientWithTheTopologyScope() throws {
        var p = Self.pool(["fra.gslb.test.", "sin.other.test."], policy: .closest)
        p.members[1].site = "sin"
        let snap = try Self.snapshot([p])
        // 198.51.100.128/25 is site sin; 203.0.113.0/24 is region eu (fra).
        let (asia, _) = try Self.ask(snap, ecs: ("198.51.100.130", 32))
        #expect(Self.lines(asia.answer) == ["www.gslb.test. CNAME sin.other.test.", "sin.other.test. A 192.0.2.40"])
        #expect(asia.ednsOptions.first { $0.code == 8 }.map { Int($0.data[3]) } == 25)
        let (eu, _) = try Self.ask(snap, ecs: ("203.0.113.9", 32))
        #expect(Self.lines(eu.answer) == ["www.gslb.test. CNAME fra.gslb.test.", "fra.gslb.test. A 192.0.2.10"])
        #expect(eu.ednsOptions.first { $0.code == 8 }.map { Int($0.data[3]) } == 24)
    }

    @Test func weightedPicksOneTargetPerQueryInProportion() throws {
        var p = Self.pool(["fra.gslb.test.", "ams.gslb.test."], policy: .weighted)
        p.members[0].weight = 300
        p.members[1].weight = 100
        let snap = try Self.snapshot([p])
        let runtime = try #require(snap.pool(name: try DomainName("www.gslb.test."), type: .cname))
        var rng = SplitMix64(seed: 9)
        var counter: UInt64 = 0
        var fra = 0
        for _ in 0..<10_000 {
            let d = runtime.select(client: nil, rng: &rng, counter: &counter)
            #expect(d.records.count == 1)
            if d.records.first!.target == (try DomainName("fra.gslb.test.")) { fra += 1 }
        }
        #expect(abs(Double(fra) / 10_000 - 0.75) < 0.02)
    }

    @Test func aCNAMEPoolIsLeftOutWhereItsNameHasOtherData() throws {
        let snap = try Self.snapshot([Self.pool(["fra.gslb.test."], name: "txtonly.gslb.test."),
                                      Self.pool(["fra.gslb.test."]),
                                      Pool(name: "www.gslb.test.", members: [Member(site: "fra", address: "192.0.2.1")])])
        #expect(snap.pool(name: try DomainName("txtonly.gslb.test."), type: .cname) == nil)
        #expect(snap.issues.contains { $0.contains("txtonly.gslb.test.") && $0.contains("conflicts with static data") })
        #expect(snap.issues.contains { $0.contains("a CNAME pool's name has no other pool") })
    }

    @Test func explainShowsTheTargetsAndTheChosenOne() throws {
        let snap = try Self.snapshot([Self.pool(["fra.gslb.test.", "ams.gslb.test."])],
                                     health: [F.down("www.gslb.test.", "fra.gslb.test.")])
        let e = snap.explain(name: try DomainName("www.gslb.test."), type: .a, client: ClientAddress(text: "192.0.2.200")!, ecs: nil)
        #expect(e.pool == "www.gslb.test." && e.type == "CNAME")
        #expect(e.answer == ["ams.gslb.test."])
        #expect(e.members.map(\.address) == ["fra.gslb.test.", "ams.gslb.test."])
        #expect(e.members.map(\.chosen) == [false, true])
        #expect(e.note?.contains("CNAME pool") == true)
    }

    @Test func aTargetIsProbedAtItsAddressInTheZones() throws {
        let snap = try Self.snapshot([])
        #expect(snap.probeAddress(ofTarget: "fra.gslb.test.") == "192.0.2.10")
        #expect(snap.probeAddress(ofTarget: "hop.gslb.test.") == "192.0.2.20")
        #expect(snap.probeAddress(ofTarget: "txtonly.gslb.test.") == nil)
        #expect(snap.probeAddress(ofTarget: "cdn.example.net.") == nil)
    }
}

extension CNAMEPoolTests {
    /// A drill of a CNAME pool's member names it by its target; the plan shows the answer moving to the next.
    @Test func aDrillOfATargetPlansTheMoveToTheNextTarget() throws {
        let snap = try Self.snapshot([Self.pool(["fra.gslb.test.", "ams.gslb.test."])])
        let target = try DrillPlanner.resolve(DrillTarget(scope: .member, name: "www.gslb.test/FRA.gslb.test"), in: snap)
        #expect(target.name == "www.gslb.test./fra.gslb.test.")
        let plan = try DrillPlanner.plan(target, snapshot: snap, now: 1000)
        let pool = try #require(plan.pools.first)
        #expect(pool.type == "CNAME")
        #expect(pool.entries.allSatisfy { $0.now.addresses == ["fra.gslb.test."] && $0.failed.addresses == ["ams.gslb.test."] })
    }
}

extension CNAMEPoolTests {
    /// A target that is one of Cairn's own pools is not probed: its member is down when that pool has no eligible
    /// member, and a health change of the target pool alone (the incremental rebuild) moves the CNAME pool too.
    @Test func aTargetPoolWithoutEligibleMembersTakesItsTargetDown() throws {
        let cname = Self.pool(["origin.gslb.test.", "fra.gslb.test."])
        let origin = Pool(name: "origin.gslb.test.", policy: .failover, fallback: .none, members: [Member(site: "fra", address: "192.0.2.77")])
        let state = GSLBState(config: GSLBConfig(sites: F.sites, pools: [cname, origin], topology: F.topology))
        let healthy = try SnapshotBuilder().build(zones: Self.zones(), gslb: state, now: 1000)
        #expect(Self.lines(try Self.ask(healthy).0.answer) == ["www.gslb.test. CNAME origin.gslb.test.", "origin.gslb.test. A 192.0.2.77"])
        var down = state
        down.health = [F.down("origin.gslb.test.", "192.0.2.77")]
        let rebuilt = try #require(SnapshotBuilder().rebuildingPools(of: healthy, gslb: down, now: 1000, generation: 2))
        #expect(Self.lines(try Self.ask(rebuilt).0.answer) == ["www.gslb.test. CNAME fra.gslb.test.", "fra.gslb.test. A 192.0.2.10"])
        let e = rebuilt.explain(name: try DomainName("www.gslb.test."), type: .a, client: ClientAddress(text: "192.0.2.200")!, ecs: nil)
        #expect(e.members.first?.why == "skipped: target pool origin.gslb.test. has no eligible member")
        // Two CNAME pools pointing at each other: built once each, no recursion without end.
        let a = Self.pool(["b.gslb.test."], name: "a.gslb.test."), b = Self.pool(["a.gslb.test."], name: "b.gslb.test.")
        let loop = try Self.snapshot([a, b])
        #expect(loop.pools.count == 2)
        #expect(try Self.ask(loop, "a.gslb.test.").0.answer.count == 2)
    }
}
