import DNSWire
import GSLBCore
import Testing

/// A configuration change builds only the GSLB layer (pool names, pools, topology) around the
/// zone index of the previous snapshot: the index is shared, never changed, and the answers are
/// those of a build from the zones.
@Suite struct GSLBLayerTests {
    typealias F = GSLBFixture

    static func name(_ s: String) throws -> DomainName { try DomainName(s) }

    /// The fixture's zone plus names that pools can meet: static data without A (TXT), a wildcard,
    /// a delegation, a DNAME and an empty non-terminal.
    static func zone() -> ZoneContent {
        var z = F.zone()
        func rr(_ n: String, _ t: RecordType, _ rdata: [UInt8]) -> ResourceRecord {
            ResourceRecord(name: try! DomainName(n), type: t, ttl: 300, rdata: rdata)
        }
        z = ZoneContent(origin: z.origin, records: z.records + [
            rr("txt.gslb.test.", .txt, [5] + Array("hello".utf8)),
            rr("*.wild.gslb.test.", .a, [192, 0, 2, 77]),
            rr("dev.gslb.test.", .ns, (try! DomainName("ns.dev.gslb.test.")).wire),
            rr("ns.dev.gslb.test.", .a, [192, 0, 2, 54]),
            rr("old.gslb.test.", .dname, (try! DomainName("new.example.")).wire),
            rr("host.ent.gslb.test.", .a, [192, 0, 2, 88]),
        ], source: "memory")
        return z
    }

    static func state(_ pools: [Pool]) -> GSLBState {
        GSLBState(config: GSLBConfig(sites: F.sites, pools: pools, topology: F.topology))
    }

    static func pool(_ n: String, _ address: String = "192.0.2.1", type: String = "A") -> Pool {
        Pool(name: n, type: type, policy: .failover, members: [Member(site: "fra", address: address)])
    }

    /// Every pool kind of place: a new name, one deep below a new empty non-terminal, a name with
    /// TXT only, an existing empty non-terminal, AAAA next to A, and the ones left out.
    static let pools = [
        pool("www.gslb.test."),
        pool("a.b.c.gslb.test.", "192.0.2.2"),
        pool("txt.gslb.test.", "192.0.2.3"),
        pool("ent.gslb.test.", "192.0.2.4"),
        pool("www.gslb.test.", "2001:db8::1", type: "AAAA"),
        pool("static.gslb.test."),          // conflicts: static A
        pool("alias.gslb.test."),           // conflicts: CNAME
        pool("x.dev.gslb.test."),           // below a delegation
        pool("x.old.gslb.test."),           // below a DNAME
        pool("www.gslb.test.", "192.0.2.9"), // defined twice
        pool("www.elsewhere.test."),        // not inside a served zone
        pool("x.wild.gslb.test.", "192.0.2.5"),
    ]

    /// The questions whose answers must not depend on how the snapshot was built.
    static let questions: [(String, RecordType)] = [
        ("www.gslb.test.", .a), ("www.gslb.test.", .aaaa), ("www.gslb.test.", .txt), ("a.b.c.gslb.test.", .a),
        ("b.c.gslb.test.", .a), ("c.gslb.test.", .a), ("z.c.gslb.test.", .a), ("txt.gslb.test.", .a),
        ("txt.gslb.test.", .txt), ("ent.gslb.test.", .a), ("host.ent.gslb.test.", .a), ("static.gslb.test.", .a),
        ("alias.gslb.test.", .a), ("x.dev.gslb.test.", .a), ("x.old.gslb.test.", .a), ("x.wild.gslb.test.", .a),
        ("y.wild.gslb.test.", .a), ("nope.gslb.test.", .a), ("gslb.test.", .soa), ("x.dev.gslb.test.", .ds),
    ]

    static func answers(_ snap: ServingSnapshot) throws -> [String] {
        try questions.map { q, t in
            let (rcode, addresses, _) = try F.ask(snap, q, type: t)
            return "\(q) \(t): \(rcode) \(addresses)"
        }
    }

    @Test func aConfigChangeSharesTheZoneIndexAndLeavesItUnchanged() throws {
        let zone = Self.zone()
        let first = try SnapshotBuilder().build(zones: [zone], gslb: Self.state(Self.pools), now: 1000, generation: 1)
        // Fewer pools, then none: built around the same index.
        let fewer = SnapshotBuilder().build(index: first.zoneIndex, gslb: Self.state([Self.pools[0]]), now: 1000, generation: 2)
        let none = SnapshotBuilder().build(index: first.zoneIndex, gslb: Self.state([]), now: 1000, generation: 3)
        #expect(fewer.zoneIndex === first.zoneIndex && none.zoneIndex === first.zoneIndex)
        // What the zones alone answer is what a snapshot without pools answers, before and after
        // snapshots with pools were built on the index: no pool left a trace in it.
        let zonesOnly = try SnapshotBuilder().build(zones: [zone])
        #expect(try Self.answers(none) == Self.answers(zonesOnly))
        #expect(none.nameCount == zonesOnly.nameCount)
        #expect(try F.ask(none, "txt.gslb.test.").0 == .noError && F.ask(none, "txt.gslb.test.").1.isEmpty)
        #expect(try F.ask(none, "www.gslb.test.").0 == .nxDomain)
        #expect(try F.ask(fewer, "www.gslb.test.").1 == ["192.0.2.1"])
        #expect(try F.ask(fewer, "a.b.c.gslb.test.").0 == .nxDomain)
    }

    @Test func poolsOnASharedIndexAnswerAsABuildFromTheZones() throws {
        let zone = Self.zone()
        let empty = try SnapshotBuilder().build(zones: [zone], gslb: Self.state([]), now: 1000, generation: 1)
        let layered = SnapshotBuilder().build(index: empty.zoneIndex, gslb: Self.state(Self.pools), now: 1000, generation: 2)
        let full = try SnapshotBuilder().build(zones: [zone], gslb: Self.state(Self.pools), now: 1000, generation: 2)
        #expect(layered.zoneIndex === empty.zoneIndex)
        #expect(try Self.answers(layered) == Self.answers(full))
        // Pools colliding with static data or below a cut are left out and reported, in the same words.
        #expect(layered.issues == full.issues)
        #expect(layered.issues == [
            "pool www.elsewhere.test.: not inside a served zone",
            "pool static.gslb.test. A: conflicts with static data at that name; left out",
            "pool alias.gslb.test. A: conflicts with static data at that name; left out",
            "pool x.dev.gslb.test. A: below a delegation or DNAME; left out",
            "pool x.old.gslb.test. A: below a delegation or DNAME; left out",
            "pool www.gslb.test. A: defined twice; second left out",
        ])
        #expect(layered.pools.map(\.pool.name) == full.pools.map(\.pool.name))
        // The pools answer; static data next to them stays; new empty non-terminals exist.
        #expect(try F.ask(layered, "www.gslb.test.").1 == ["192.0.2.1"])
        #expect(try F.ask(layered, "www.gslb.test.", type: .aaaa).1 == ["2001:db8::1"])
        #expect(try F.ask(layered, "a.b.c.gslb.test.").1 == ["192.0.2.2"])
        #expect(try F.ask(layered, "b.c.gslb.test.").0 == .noError)
        #expect(try F.ask(layered, "txt.gslb.test.").1 == ["192.0.2.3"])
        #expect(try F.ask(layered, "ent.gslb.test.").1 == ["192.0.2.4"])
        #expect(try F.ask(layered, "host.ent.gslb.test.").1 == ["192.0.2.88"])
        #expect(try F.ask(layered, "x.wild.gslb.test.").1 == ["192.0.2.5"])
        #expect(try F.ask(layered, "y.wild.gslb.test.").1 == ["192.0.2.77"])
        #expect(try F.ask(layered, "static.gslb.test.").1 == ["192.0.2.99"])
        // Names: the zone's, plus the pool names and empty non-terminals it did not have.
        #expect(layered.nameCount == empty.nameCount + 5)   // www, a.b.c, b.c, c, x.wild
        // The zone index's node at a name with static data is not the one that answers the pool.
        #expect(layered.staticTypes(at: try Self.name("txt.gslb.test.")) == [.txt])
    }

    @Test func healthChangesOnAGSLBLayerKeepItsNames() throws {
        let empty = try SnapshotBuilder().build(zones: [Self.zone()], gslb: Self.state([]), now: 1000, generation: 1)
        let layered = SnapshotBuilder().build(index: empty.zoneIndex, gslb: Self.state(Self.pools), now: 1000, generation: 2)
        var gslb = layered.gslb
        gslb.health = [F.down("a.b.c.gslb.test.", "192.0.2.2")]
        let next = try #require(SnapshotBuilder().rebuildingPools(of: layered, gslb: gslb, now: 1000, generation: 3))
        #expect(next.zoneIndex === empty.zoneIndex)
        #expect(try Self.answers(next).filter { !$0.hasPrefix("a.b.c.") } == Self.answers(layered).filter { !$0.hasPrefix("a.b.c.") })
        #expect(try F.ask(next, "b.c.gslb.test.").0 == .noError)
    }
}
