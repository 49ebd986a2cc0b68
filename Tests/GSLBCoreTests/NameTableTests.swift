import DNSWire
import Testing
@testable import GSLBCore

/// The zone index's name table (open addressing over 8-octet slots) against a Dictionary of the same
/// names: every name found by its key and by a suffix slice of a longer key, absent names not found,
/// replacement returning the node replaced, growth from empty, and removal of a subtree.
@Suite struct NameTableTests {
    let head: ZoneHead

    init() throws {
        head = ZoneHead(origin: try DomainName("t.example."), negativeSOA: EncodedRecord(type: .soa, ttl: 60, rdata: []))
    }

    func node(_ name: String) throws -> ZoneNode { ZoneNode(name: try DomainName(name), zone: head) }

    @Test func findsWhatADictionaryFindsAcrossGrowth() throws {
        var table = NameTable()
        var reference: [NameKey: ZoneNode] = [:]
        for i in 0..<5_000 {
            let n = try node("h\(i).Sub\(i % 7).t.example.")
            #expect(table.updateValue(n) == nil)
            reference[NameKey(n.name.key[...])] = n
        }
        #expect(table.count == 5_000)
        for (k, n) in reference { #expect(table[k] === n) }
        for i in 5_000..<5_500 { #expect(table[NameKey(try DomainName("h\(i).sub\(i % 7).t.example.").key[...])] == nil) }
        // A suffix of a longer key (a slice whose indices do not start at 0), as the query path looks names up.
        let long = try DomainName("x.y.h42.sub0.t.example.").key
        #expect(table[NameKey(long[4...])] === reference[NameKey(try DomainName("h42.sub0.t.example.").key[...])])
        // Case does not matter: keys are lower-cased wire names.
        #expect(table[NameKey(try DomainName("H42.SUB0.T.EXAMPLE.").key[...])]?.name.description == "h42.Sub0.t.example.")
    }

    @Test func replacingReturnsTheOldNodeAndKeepsOneEntry() throws {
        var table = NameTable(minimumCapacity: 4)
        let a = try node("www.t.example.")
        let b = try node("WWW.t.example.")
        #expect(table.updateValue(a) == nil)
        #expect(table.updateValue(b) === a)
        #expect(table.count == 1)
        #expect(table[NameKey(a.name.key[...])] === b)
    }

    @Test func removeAllDropsExactlyTheNamesAccepted() throws {
        var table = NameTable()
        let names = ["t.example.", "child.t.example.", "a.child.t.example.", "b.a.child.t.example.", "other.t.example."]
        for n in names { table.updateValue(try node(n)) }
        let apex = try DomainName("child.t.example.").key
        table.removeAll { SnapshotBuilder.isStrictlyBelow($0, apex) }
        #expect(table.count == 3)
        for n in names {
            let below = n.hasSuffix(".child.t.example.")
            #expect((table[NameKey(try DomainName(n).key[...])] == nil) == below, "\(n)")
        }
    }

    /// The GSLB layer's NodeTable: every node found by its key and by a suffix slice of a longer key (the
    /// query path's lookups), names of the same length that differ in one octet and absent names not found.
    @Test func theLayersNodeTableFindsExactlyItsNames() throws {
        let nodes = try (0..<3_000).map { try node("p\($0).Gslb.t.example.") }
        let table = NodeTable(nodes)
        for n in nodes { #expect(table[n.name.key[...]] === n) }
        #expect(table.keys.count == nodes.count)
        for i in 3_000..<3_300 { #expect(table[try DomainName("p\(i).gslb.t.example.").key[...]] == nil) }
        #expect(table[try DomainName("p1.gslb.t.exampla.").key[...]] == nil)
        let long = try DomainName("x.P42.GSLB.t.example.").key
        #expect(table[long[2...]] === nodes[42])
        #expect(NodeTable([])[try DomainName("t.example.").key[...]] == nil)
    }

    /// A slot holds what a pool answer needs of its node (`AnswerEngine.lookup` reads the slot, not the
    /// node): its zone, its pool slot, and whether a zone cut or DNAME is above it; for keys in the slot and
    /// for keys confirmed against the node alike.
    @Test func theLayersNodeTableHoldsWhatAPoolAnswerNeedsOfTheNode() throws {
        let other = ZoneHead(origin: try DomainName("u.example."), negativeSOA: EncodedRecord(type: .soa, ttl: 60, rdata: []))
        let plain = try node("p1.t.example.")
        plain.poolSlot = 7
        let cut = ZoneNode(name: try DomainName("p2.u.example."), zone: other)
        cut.poolSlot = 3
        cut.cut = cut
        let dname = try node("p3.t.example.")
        dname.dnameAbove = plain
        let long = try node("p4." + String(repeating: "y", count: NodeTable.inlineKey) + ".t.example.")
        let none = try node("t.example.")
        let table = NodeTable([plain, cut, dname, long, none])
        let e = try #require(table.entry(plain.name.key[...]))
        #expect(e.node.takeUnretainedValue() === plain && e.zone.takeUnretainedValue() === head && e.poolSlot == 7 && e.plain)
        let c = try #require(table.entry(cut.name.key[...]))
        #expect(c.zone.takeUnretainedValue() === other && c.poolSlot == 3 && !c.plain)
        #expect(table.entry(dname.name.key[...])?.plain == false)
        let l = try #require(table.entry(long.name.key[...]))
        #expect(l.node.takeUnretainedValue() === long && l.zone.takeUnretainedValue() === head && l.plain)
        #expect(table.entry(none.name.key[...])?.poolSlot == -1)
    }

    /// The layer's slots hold the selector a pool-name query starts from, and each snapshot its own pools':
    /// an A pool's beside an AAAA pool (whose queries look in `slotSelectors`), a CNAME pool's for every
    /// type it answers, none at an empty non-terminal. A snapshot rebuilt for health holds the rebuilt pool's
    /// selector; the one it replaces still holds, and answers from, its own.
    @Test func eachSnapshotsLayerSlotsHoldItsOwnPoolsSelectors() throws {
        let pools = [Pool(name: "www.gslb.test.", policy: .failover, members: GSLBFixture.members()),
                     Pool(name: "www.gslb.test.", type: "AAAA", policy: .failover, members: [Member(site: "fra", address: "2001:db8::1")]),
                     Pool(name: "c.x.gslb.test.", type: "CNAME", policy: .failover, members: [Member(site: "fra", address: "www.gslb.test.")]),
                     Pool(name: "api.gslb.test.", policy: .failover, members: GSLBFixture.members())]
        let old = try GSLBFixture.snapshot(pools)
        var state = old.gslb
        state.health = [GSLBFixture.down("www.gslb.test.", "192.0.2.1")]
        let new = try #require(SnapshotBuilder().rebuildingPools(of: old, gslb: state, now: 1000, generation: 2))
        for snap in [old, new] {
            let www = try #require(snap.layerEntry(forKey: try DomainName("www.gslb.test.").key[...]))
            let wwwPool = try #require(snap.pool(name: try DomainName("www.gslb.test."), type: .a))
            #expect(www.selector(0)?.runtime === wwwPool && www.selector(1) == nil && www.selector(2) == nil)
            let c = try #require(snap.layerEntry(forKey: try DomainName("c.x.gslb.test.").key[...]))
            let cPool = try #require(snap.pool(name: try DomainName("c.x.gslb.test."), type: .cname))
            #expect((0..<3).allSatisfy { c.selector($0)?.runtime === cPool })
            #expect(try #require(snap.layerEntry(forKey: try DomainName("x.gslb.test.").key[...])).selector == nil)
            #expect(try GSLBFixture.ask(snap, type: .aaaa).1 == ["2001:db8::1"])
            #expect(try GSLBFixture.ask(snap, "c.x.gslb.test.").1 == GSLBFixture.ask(snap).1)
        }
        let api = try DomainName("api.gslb.test.")
        #expect(new.layerEntry(forKey: api.key[...])?.selector?.runtime === old.layerEntry(forKey: api.key[...])?.selector?.runtime)
        #expect(try GSLBFixture.ask(old).1 == ["192.0.2.1"])
        #expect(try GSLBFixture.ask(new).1 == ["192.0.2.2"])
    }

    /// A slot holds keys of up to `NodeTable.inlineKey` octets; longer ones are confirmed against the node's
    /// name. Names on both sides of that length are found, and names that differ from them in one octet are not.
    @Test func theLayersNodeTableConfirmsKeysLongerThanASlotHolds() throws {
        // p0...p9 are `inlineKey` octets long (in the slot), p10...p99 one more (not).
        let names = (0..<100).map { "p\($0)." + String(repeating: "x", count: NodeTable.inlineKey - 22) + ".a2345678.example." }
        let nodes = try names.map { try node($0) }
        #expect(nodes[9].name.key.count == NodeTable.inlineKey && nodes[10].name.key.count == NodeTable.inlineKey + 1)
        let table = NodeTable(nodes)
        for n in nodes { #expect(table[n.name.key[...]] === n, "\(n.name)") }
        for name in names {
            #expect(table[try DomainName(String(name.dropLast(2)) + "f.").key[...]] == nil, "\(name)")
            #expect(table[try DomainName(name.replacingOccurrences(of: "xx", with: "xy")).key[...]] == nil, "\(name)")
        }
        let long = try DomainName("Q." + names[50]).key
        #expect(table[long[2...]] === nodes[50])
    }

    /// The table under the name table: positions put in are found again through growth, also when
    /// every hash is the same (the probe runs) or differs only above the low 32 bits (the slot's tag).
    @Test(arguments: [{ (_: Int) in 7 }, { (i: Int) in i << 32 }, { (i: Int) in i &* 0x9E37_79B9 }] as [@Sendable (Int) -> Int])
    func positionTableFindsEveryPositionThroughGrowth(_ hash: @Sendable (Int) -> Int) {
        var t = PositionTable()
        var keys: [Int] = []
        for k in 0..<300 {
            let (p, inserted) = t.findOrInsert(hash: hash(k), position: keys.count) { keys[$0] == k }
            #expect(inserted && p == keys.count)
            keys.append(k)
        }
        #expect(t.count == 300)
        for k in 0..<300 {
            #expect(t.find(hash: hash(k)) { keys[$0] == k } == k)
            let (p, inserted) = t.findOrInsert(hash: hash(k), position: 999) { keys[$0] == k }
            #expect(!inserted && p == k)
        }
        #expect(t.find(hash: hash(300)) { keys[$0] == 300 } == nil)
    }
}
