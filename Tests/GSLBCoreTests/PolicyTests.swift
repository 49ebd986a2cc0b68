import DNSWire
import GSLBCore
import Testing

/// A zone and a GSLB state built in code, queried through the real AnswerEngine.
struct GSLBFixture {
    static let origin = try! DomainName("gslb.test.")

    static func zone() -> ZoneContent {
        let o = origin
        let soa = ResourceRecord(name: o, type: .soa, ttl: 3600,
                                 rdata: (try! DomainName("ns.gslb.test.")).wire + (try! DomainName("hostmaster.gslb.test.")).wire
                                     + [0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 2, 88, 0, 9, 58, 128, 0, 0, 0, 60])
        return ZoneContent(origin: o, records: [
            soa,
            ResourceRecord(name: o, type: .ns, ttl: 3600, rdata: (try! DomainName("ns.gslb.test.")).wire),
            ResourceRecord(name: try! DomainName("ns.gslb.test."), type: .a, ttl: 3600, rdata: [192, 0, 2, 53]),
            ResourceRecord(name: try! DomainName("static.gslb.test."), type: .a, ttl: 3600, rdata: [192, 0, 2, 99]),
            ResourceRecord(name: try! DomainName("alias.gslb.test."), type: .cname, ttl: 3600, rdata: (try! DomainName("www.gslb.test.")).wire),
        ])
    }

    static let sites = [
        Site(name: "fra", region: "eu", location: GeoPoint(lat: 50.11, lon: 8.68), capacity: 1000),
        Site(name: "ams", region: "eu", location: GeoPoint(lat: 52.37, lon: 4.90), capacity: 1000),
        Site(name: "iad", region: "us", location: GeoPoint(lat: 38.95, lon: -77.45), capacity: 500),
        Site(name: "sin", region: "ap", location: GeoPoint(lat: 1.35, lon: 103.82), capacity: 500),
    ]

    static let topology = [
        TopologyEntry(network: "203.0.113.0/24", region: "eu"),
        TopologyEntry(network: "198.51.100.0/24", region: "us"),
        TopologyEntry(network: "198.51.100.128/25", site: "sin"),
        TopologyEntry(network: "10.0.0.0/8", location: GeoPoint(lat: 40.7, lon: -74.0)),
    ]

    static func members() -> [Member] {
        [Member(site: "fra", address: "192.0.2.1", weight: 100, priority: 1),
         Member(site: "ams", address: "192.0.2.2", weight: 50, priority: 2),
         Member(site: "iad", address: "192.0.2.3", weight: 25, priority: 3),
         Member(site: "sin", address: "192.0.2.4", weight: 25, priority: 4)]
    }

    static func snapshot(_ pools: [Pool], health: [MemberHealth] = [], overrides: [Override] = [], now: Double = 1000) throws -> ServingSnapshot {
        try SnapshotBuilder().build(zones: [zone()],
                                    gslb: GSLBState(config: GSLBConfig(sites: sites, pools: pools, topology: topology),
                                                    health: health, overrides: overrides), now: now)
    }

    static func down(_ pool: String, _ addr: String) -> MemberHealth {
        MemberHealth(key: MemberKey(pool: pool, address: addr), state: .down, since: 0)
    }

    /// Asks `name` through the engine; returns (rcode, A addresses as text, ECS scope or nil).
    static func ask(_ snap: ServingSnapshot, _ name: String = "www.gslb.test.", type: RecordType = .a,
                    client: String = "192.0.2.200", ecs: (String, UInt8)? = nil, engine: AnswerEngine = AnswerEngine(seed: 7))
        throws -> (ResponseCode, [String], Int?) {
        var opts: [(code: UInt16, data: [UInt8])] = []
        if let (a, p) = ecs { opts.append(QueryBuilder.clientSubnet(address: ClientAddress(text: a)!.bytes, prefix: p)) }
        let q = QueryBuilder.make(name: try DomainName(name), type: type, edns: (1232, false), options: opts)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { out.deallocate() }
        let n = q.withUnsafeBytes { engine.respond(to: $0, transport: .udp, snapshot: snap, client: ClientAddress(text: client)!, into: out) }
        let m = try Message(bytes: Array(out[0..<n]))
        let scope = m.ednsOptions.first { $0.code == 8 }.map { Int($0.data[3]) }
        return (m.rcode, m.answer.filter { $0.type == .a || $0.type == .aaaa }.map { RDataText.format(type: $0.type, rdata: $0.rdata) }, scope)
    }
}

@Suite struct PolicyTests {
    typealias F = GSLBFixture

    @Test func weightedSharesFollowTheWeightsWithinTwoPercent() throws {
        let snap = try F.snapshot([Pool(name: "www.gslb.test.", policy: .weighted, members: F.members())])
        let pool = try #require(snap.pool(name: try DomainName("www.gslb.test."), type: .a))
        var rng = SplitMix64(seed: 42)
        var counter: UInt64 = 0
        var counts: [String: Int] = [:]
        let n = 100_000
        for _ in 0..<n {
            let d = pool.select(client: nil, rng: &rng, counter: &counter)
            counts[RDataText.format(type: .a, rdata: d.records.first!.rdata), default: 0] += 1
        }
        let total = 200.0
        for (addr, w) in [("192.0.2.1", 100.0), ("192.0.2.2", 50.0), ("192.0.2.3", 25.0), ("192.0.2.4", 25.0)] {
            let share = Double(counts[addr] ?? 0) / Double(n)
            #expect(abs(share - w / total) <= 0.02, "\(addr): \(share) vs \(w / total)")
        }
    }

    @Test func weightedWithSeveralAnswersGivesDistinctAddresses() throws {
        let snap = try F.snapshot([Pool(name: "www.gslb.test.", policy: .weighted, answers: 3, members: F.members())])
        for seed in 0..<50 {
            let (_, addrs, _) = try F.ask(snap, engine: AnswerEngine(seed: UInt64(seed)))
            #expect(addrs.count == 3 && Set(addrs).count == 3)
        }
    }

    @Test func consistentHashMovesOnlyTheFailedMembersClients() throws {
        let pool = Pool(name: "www.gslb.test.", policy: .consistentHash, members: F.members())
        let before = try F.snapshot([pool])
        let after = try F.snapshot([pool], health: [F.down("www.gslb.test.", "192.0.2.2")])
        var moved = 0, failedClients = 0
        for i in 0..<2000 {
            let client = "10.\(i / 250).\(i % 250).7"
            let a = try F.ask(before, client: client).1
            let b = try F.ask(after, client: client).1
            if a == ["192.0.2.2"] { failedClients += 1; #expect(b != ["192.0.2.2"]) } else if a != b { moved += 1 }
            // The same /24 keeps its member.
            #expect(try F.ask(before, client: "10.\(i / 250).\(i % 250).200").1 == a)
        }
        #expect(moved == 0)
        #expect(failedClients > 200)
    }

    @Test func failoverAnswersTheLowestPriorityGroupWithAHealthyMember() throws {
        let pool = Pool(name: "www.gslb.test.", policy: .failover, members: F.members())
        #expect(try F.ask(try F.snapshot([pool])).1 == ["192.0.2.1"])
        let s2 = try F.snapshot([pool], health: [F.down("www.gslb.test.", "192.0.2.1")])
        #expect(try F.ask(s2).1 == ["192.0.2.2"])
        let s3 = try F.snapshot([pool], health: [F.down("www.gslb.test.", "192.0.2.1"), F.down("www.gslb.test.", "192.0.2.2")])
        #expect(try F.ask(s3).1 == ["192.0.2.3"])
    }

    @Test func drainedAndDisabledMembersGetNoAnswers() throws {
        var ms = F.members()
        ms[0].state = .drain
        ms[1].state = .disabled
        let snap = try F.snapshot([Pool(name: "www.gslb.test.", policy: .allHealthy, answers: 8, members: ms)])
        #expect(try F.ask(snap).1 == ["192.0.2.3", "192.0.2.4"])
    }

    @Test func roundRobinRotatesThroughHealthyMembers() throws {
        let snap = try F.snapshot([Pool(name: "www.gslb.test.", policy: .roundRobin, members: F.members())],
                                  health: [F.down("www.gslb.test.", "192.0.2.4")])
        let engine = AnswerEngine(seed: 1)
        var seen: [String] = []
        for _ in 0..<6 { seen += try F.ask(snap, engine: engine).1 }
        #expect(Set(seen) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
        #expect(seen[0] != seen[1] && seen[1] != seen[2] && seen[0] == seen[3])
    }

    @Test func leastLoadedPicksTheLowestLoadOverCapacity() throws {
        var ms = F.members()
        ms[0].load = 900   // fra 0.9
        ms[1].load = 300   // ams 0.3
        ms[2].load = 100   // iad 0.2 of 500
        ms[3].load = 400   // sin 0.8
        let snap = try F.snapshot([Pool(name: "www.gslb.test.", policy: .leastLoaded, members: ms)])
        #expect(try F.ask(snap).1 == ["192.0.2.3"])
    }

    @Test func closestPrefersTheClientsRegionThenDistance() throws {
        let pool = Pool(name: "www.gslb.test.", policy: .closest, answers: 1, members: F.members())
        let snap = try F.snapshot([pool])
        #expect(try F.ask(snap, client: "203.0.113.9").1 == ["192.0.2.1"])      // eu: fra (priority 1) before ams
        #expect(try F.ask(snap, client: "198.51.100.9").1 == ["192.0.2.3"])     // us: iad
        #expect(try F.ask(snap, client: "198.51.100.200").1 == ["192.0.2.4"])   // /25 → site sin (longest prefix)
        #expect(try F.ask(snap, client: "10.1.2.3").1 == ["192.0.2.3"])         // location New York → iad nearest
        #expect(try F.ask(snap, client: "192.0.2.200").1 == ["192.0.2.1"])      // unknown: default order
        // fra down: eu clients get ams (same region), us clients still iad.
        let s2 = try F.snapshot([pool], health: [F.down("www.gslb.test.", "192.0.2.1")])
        #expect(try F.ask(s2, client: "203.0.113.9").1 == ["192.0.2.2"])
        // The whole eu region down: eu clients get the nearest other site (iad, not sin).
        let s3 = try F.snapshot([pool], health: [F.down("www.gslb.test.", "192.0.2.1"), F.down("www.gslb.test.", "192.0.2.2")])
        #expect(try F.ask(s3, client: "203.0.113.9").1 == ["192.0.2.3"])
    }

    @Test func ecsScopeIsTheDecidingPrefixAndZeroWhenTheAnswerDoesNotDependOnTheClient() throws {
        let snap = try F.snapshot([
            Pool(name: "www.gslb.test.", policy: .closest, members: F.members()),
            Pool(name: "w.gslb.test.", policy: .weighted, members: F.members()),
            Pool(name: "noecs.gslb.test.", policy: .closest, ecs: false, members: F.members()),
            Pool(name: "ch.gslb.test.", policy: .consistentHash, members: F.members()),
        ])
        // ECS decides: the /24 entry → scope 24, and the eu answer although the resolver is elsewhere.
        let r1 = try F.ask(snap, client: "192.0.2.200", ecs: ("203.0.113.0", 24))
        #expect(r1.1 == ["192.0.2.1"] && r1.2 == 24)
        // /25 entry inside a /24 source can't decide: the /24 entry does, scope 24.
        let r2 = try F.ask(snap, client: "192.0.2.200", ecs: ("198.51.100.128", 24))
        #expect(r2.1 == ["192.0.2.3"] && r2.2 == 24)
        let r3 = try F.ask(snap, client: "192.0.2.200", ecs: ("198.51.100.128", 25))
        #expect(r3.1 == ["192.0.2.4"] && r3.2 == 25)
        // Source /16 is shorter than every entry: no match, scope = the source (16).
        let r4 = try F.ask(snap, client: "192.0.2.200", ecs: ("203.0.0.0", 16))
        #expect(r4.2 == 16)
        // Client-independent policy and static data: scope 0.
        #expect(try F.ask(snap, "w.gslb.test.", ecs: ("203.0.113.0", 24)).2 == 0)
        #expect(try F.ask(snap, "static.gslb.test.", ecs: ("203.0.113.0", 24)).2 == 0)
        // ecs: false ignores the option (decides on the source address): scope 0.
        let r5 = try F.ask(snap, "noecs.gslb.test.", client: "198.51.100.9", ecs: ("203.0.113.0", 24))
        #expect(r5.1 == ["192.0.2.3"] && r5.2 == 0)
        // consistent-hash: the hashed /24.
        #expect(try F.ask(snap, "ch.gslb.test.", ecs: ("203.0.113.0", 24)).2 == 24)
        #expect(try F.ask(snap, "ch.gslb.test.", ecs: ("203.0.112.0", 20)).2 == 20)
    }

    @Test func everyFallbackModeAnswersAsDeclaredWhenAllMembersAreDown() throws {
        let allDown = F.members().map { F.down("www.gslb.test.", $0.address) }
            + F.members().map { F.down("b.gslb.test.", $0.address) }
        func snap(_ fb: Fallback) throws -> ServingSnapshot {
            try F.snapshot([Pool(name: "www.gslb.test.", policy: .failover, fallback: fb, members: F.members()),
                            Pool(name: "spare.gslb.test.", policy: .failover, members: [Member(site: "sin", address: "192.0.2.77")])],
                           health: allDown)
        }
        #expect(try F.ask(try snap(.all)).1 == ["192.0.2.1"])   // fail-open: the policy over every enabled member
        let none = try F.ask(try snap(.none))
        #expect(none.0 == .noError && none.1.isEmpty)
        #expect(try F.ask(try snap(.servfail)).0 == .servFail)
        #expect(try F.ask(try snap(.pool("spare.gslb.test."))).1 == ["192.0.2.77"])
    }

    @Test func weightZeroMembersAnswerOnlyInFallback() throws {
        var ms = F.members()
        for i in ms.indices { ms[i].weight = 0 }
        ms[2].weight = 10
        let pool = Pool(name: "www.gslb.test.", policy: .weighted, members: ms)
        for seed in 0..<20 { #expect(try F.ask(try F.snapshot([pool]), engine: AnswerEngine(seed: UInt64(seed))).1 == ["192.0.2.3"]) }
        let down = try F.snapshot([pool], health: [F.down("www.gslb.test.", "192.0.2.3")])
        #expect(try F.ask(down).1.count == 1)
        #expect(try F.ask(down).1 != ["192.0.2.3"] || true)
    }

    @Test func overridesForceStateOverTheRealOne() throws {
        let pool = Pool(name: "www.gslb.test.", policy: .failover, members: F.members())
        let siteDown = Override(scope: .site, target: "fra", state: .down, reason: "maintenance", principal: "ops",
                                expiresAt: 2000, createdAt: 0)
        #expect(try F.ask(try F.snapshot([pool], overrides: [siteDown])).1 == ["192.0.2.2"])
        // Expired: lifted.
        #expect(try F.ask(try F.snapshot([pool], overrides: [siteDown], now: 3000)).1 == ["192.0.2.1"])
        // Forced up beats real down.
        let up = Override(scope: .member, target: "www.gslb.test./192.0.2.1", state: .up, reason: "trust me", principal: "ops",
                          expiresAt: nil, createdAt: 0)
        let s = try F.snapshot([pool], health: [F.down("www.gslb.test.", "192.0.2.1")], overrides: [up])
        #expect(try F.ask(s).1 == ["192.0.2.1"])
        let view = try #require(s.pool(name: try DomainName("www.gslb.test."), type: .a)?.members.first)
        #expect(view.real == .down && view.forced == .up && view.effective == "up")
    }

    /// A forced state names what set it: the override's id, and the drill when a drill did (issue 17 item 6).
    @Test func aForcedStateNamesItsOverrideAndDrill() throws {
        let pool = Pool(name: "www.gslb.test.", policy: .failover, members: F.members())
        let drill = Override(id: 7, scope: .site, target: "fra", state: .down, reason: "drill", principal: "drill",
                             expiresAt: nil, createdAt: 0, drillID: "d-3")
        let view = try #require(try F.snapshot([pool], overrides: [drill]).pool(name: try DomainName("www.gslb.test."), type: .a)?
            .members.first { $0.member.site == "fra" })
        #expect(view.forcedBy == "site:fra" && view.forcedOverride == 7 && view.forcedDrill == "d-3")
        #expect(view.reason == "forced down by site:fra (drill d-3, override 7)")
        #expect(MemberView.forcedByText("pool:x.", override: 2, drill: nil) == "pool:x. (override 2)")
        #expect(MemberView.forcedByText(nil, override: 2, drill: nil) == nil)
    }

    @Test func poolsAnswerThroughCNAMEsAndGiveNoDataForTheOtherType() throws {
        let snap = try F.snapshot([Pool(name: "www.gslb.test.", policy: .failover, members: F.members())])
        #expect(try F.ask(snap, "alias.gslb.test.").1 == ["192.0.2.1"])
        let aaaa = try F.ask(snap, type: .aaaa)
        #expect(aaaa.0 == .noError && aaaa.1.isEmpty)
    }

    /// An A and an AAAA pool at one name answer their members' addresses whole and in their order: a
    /// selector's packed members hold 4 octets of RDATA for A (16 octets a member) and 16 for AAAA (32).
    @Test func aAndAAAAPoolsAtOneNameAnswerTheirAddressesWhole() throws {
        let v6 = ["2001:db8::1", "2001:db8:ffff:eeee:dddd:cccc:bbbb:aaaa", "fe80::1:2:3:4"]
        let snap = try F.snapshot([
            Pool(name: "www.gslb.test.", policy: .allHealthy, answers: 4, members: F.members()),
            Pool(name: "www.gslb.test.", type: "AAAA", policy: .allHealthy, answers: 3,
                 members: v6.enumerated().map { Member(site: "fra", address: $1, weight: 100 - $0) }),
        ])
        #expect(try F.ask(snap).1 == ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"])
        #expect(try F.ask(snap, type: .aaaa).1 == v6)
    }

    @Test func poolsThatConflictWithStaticDataAreLeftOutAndSaySo() throws {
        let snap = try F.snapshot([Pool(name: "static.gslb.test.", policy: .failover, members: F.members())])
        #expect(snap.pools.isEmpty)
        #expect(snap.issues.contains { $0.contains("conflicts with static data") })
        #expect(try F.ask(snap, "static.gslb.test.").1 == ["192.0.2.99"])
    }
}

@Suite struct IncrementalRebuildTests {
    typealias F = GSLBFixture

    @Test func aHealthChangeRebuildsOnlyTheAffectedPoolAndSharesTheZoneIndex() throws {
        let pools = [Pool(name: "www.gslb.test.", policy: .failover, members: F.members()),
                     Pool(name: "api.gslb.test.", policy: .failover, members: F.members()),
                     Pool(name: "alt.gslb.test.", policy: .failover, fallback: .pool("www.gslb.test."), members: [F.members()[3]])]
        let old = try F.snapshot(pools)
        var state = old.gslb
        state.health = [F.down("www.gslb.test.", "192.0.2.1")]
        let new = try #require(SnapshotBuilder().rebuildingPools(of: old, gslb: state, now: 1000, generation: 2))
        let name = { (n: String) in try DomainName(n) }
        #expect(new.pool(name: try name("api.gslb.test."), type: .a) === old.pool(name: try name("api.gslb.test."), type: .a))
        #expect(new.pool(name: try name("www.gslb.test."), type: .a) !== old.pool(name: try name("www.gslb.test."), type: .a))
        // A pool falling back to the changed one is rebuilt too.
        #expect(new.pool(name: try name("alt.gslb.test."), type: .a) !== old.pool(name: try name("alt.gslb.test."), type: .a))
        #expect(try F.ask(new).1 == ["192.0.2.2"])
        #expect(try F.ask(new, "api.gslb.test.").1 == ["192.0.2.1"])
    }

    /// A config write that changes pools' settings in place (a weight, a member's state, a TTL, a policy) rebuilds
    /// those pools and the pools falling back to them, and answers as a whole build of the same state; a change of
    /// more than that (a member added, an address, a site, a pool added) is left to the whole build (nil).
    @Test func poolSettingsChangedInPlaceRebuildOnlyThosePools() throws {
        let pools = [Pool(name: "www.gslb.test.", policy: .failover, members: F.members()),
                     Pool(name: "api.gslb.test.", policy: .failover, members: F.members()),
                     Pool(name: "alt.gslb.test.", policy: .failover, fallback: .pool("www.gslb.test."), members: [F.members()[3]])]
        let old = try F.snapshot(pools)
        let name = { (n: String) in try DomainName(n) }
        var changed = old.gslb
        changed.config.pools[0].ttl = 99
        changed.config.pools[0].members[0].weight = 0
        changed.config.pools[0].members[1].state = .drain
        let new = try #require(SnapshotBuilder().rebuildingPools(of: old, gslb: changed, now: 1000, generation: 2))
        #expect(new.pool(name: try name("api.gslb.test."), type: .a) === old.pool(name: try name("api.gslb.test."), type: .a))
        #expect(new.pool(name: try name("www.gslb.test."), type: .a)?.pool.ttl == 99)
        #expect(new.pool(name: try name("alt.gslb.test."), type: .a) !== old.pool(name: try name("alt.gslb.test."), type: .a))
        #expect(new.zoneIndex === old.zoneIndex)
        let whole = SnapshotBuilder().build(index: old.zoneIndex, gslb: changed, now: 1000, generation: 2)
        for n in ["www.gslb.test.", "api.gslb.test.", "alt.gslb.test."] {
            #expect(try F.ask(new, n).1 == F.ask(whole, n).1, "\(n)")
        }
        #expect(try F.ask(new).1 == ["192.0.2.3"])
        #expect(new.issues == whole.issues)

        var added = old.gslb
        added.config.pools[0].members.append(Member(site: "fra", address: "192.0.2.9"))
        var moved = old.gslb
        moved.config.pools[1].members[0].address = "192.0.2.9"
        var resited = old.gslb
        resited.config.pools[1].members[0].site = resited.config.pools[1].members[1].site
        var another = old.gslb
        another.config.pools.append(Pool(name: "new.gslb.test.", policy: .failover, members: F.members()))
        for more in [added, moved, another] + (resited == old.gslb ? [] : [resited]) {
            #expect(SnapshotBuilder().rebuildingPools(of: old, gslb: more, now: 1000, generation: 2) == nil)
        }
    }
}
