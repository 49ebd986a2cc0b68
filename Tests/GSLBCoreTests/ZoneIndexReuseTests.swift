import DNSWire
import GSLBCore
import Testing

/// An index rebuilt for one zone's change takes the other zones' nodes from the index being served
/// (issue 15: a reload does not hold two copies of every zone), and answers as an index built from
/// every zone's content.
@Suite struct ZoneIndexReuseTests {
    typealias F = GSLBFixture

    static func other(serial: UInt8, address: UInt8) -> ZoneContent {
        let o = try! DomainName("other.test.")
        func rr(_ n: String, _ t: RecordType, _ rdata: [UInt8]) -> ResourceRecord {
            ResourceRecord(name: try! DomainName(n), type: t, ttl: 300, rdata: rdata)
        }
        return ZoneContent(origin: o, records: [
            rr("other.test.", .soa, (try! DomainName("ns.other.test.")).wire + (try! DomainName("h.other.test.")).wire
                + [0, 0, 0, serial, 0, 0, 14, 16, 0, 0, 2, 88, 0, 9, 58, 128, 0, 0, 0, 60]),
            rr("other.test.", .ns, (try! DomainName("ns.other.test.")).wire),
            rr("ns.other.test.", .a, [192, 0, 2, 53]),
            rr("www.other.test.", .a, [192, 0, 2, address]),
        ], source: "memory")
    }

    static let questions: [(String, RecordType)] = [
        ("www.gslb.test.", .a), ("static.gslb.test.", .a), ("alias.gslb.test.", .a), ("gslb.test.", .soa),
        ("nope.gslb.test.", .a), ("www.other.test.", .a), ("ns.other.test.", .a), ("other.test.", .ns),
        ("nope.other.test.", .a),
    ]

    static func answers(_ snap: ServingSnapshot) throws -> [String] {
        try questions.map { q, t in
            let (rcode, addresses, _) = try F.ask(snap, q, type: t)
            return "\(q) \(t): \(rcode) \(addresses)"
        }
    }

    @Test func aKeptZoneSharesItsNodesAndTheIndexAnswersAsOneBuiltFromEveryZone() throws {
        let builder = SnapshotBuilder()
        let first = try builder.buildIndex(zones: [F.zone(), Self.other(serial: 1, address: 1)])
        let changed = Self.other(serial: 2, address: 2)
        let reused = try builder.buildIndex(zones: [changed], reusing: first, keep: [F.origin])
        let fresh = try builder.buildIndex(zones: [F.zone(), changed])

        let a = builder.build(index: first), b = builder.build(index: reused), c = builder.build(index: fresh)
        #expect(b.node(for: F.origin) === a.node(for: F.origin))
        #expect(b.node(for: try DomainName("static.gslb.test.")) === a.node(for: try DomainName("static.gslb.test.")))
        #expect(b.node(for: try DomainName("www.other.test.")) !== a.node(for: try DomainName("www.other.test.")))
        #expect(try Self.answers(b) == Self.answers(c))
        #expect(try F.ask(b, "www.other.test.").1 == ["192.0.2.2"])
        #expect(b.zones.map(\.serial).sorted() == [1, 2])
        #expect(reused.nameCount == fresh.nameCount)
        // A zone neither indexed nor kept is gone.
        let dropped = try builder.buildIndex(zones: [], reusing: first, keep: [F.origin])
        #expect(dropped.zones.map(\.origin) == [F.origin])
        #expect(try F.ask(builder.build(index: dropped), "www.other.test.").0 == .refused)
    }

    @Test func aZoneAboveOrBelowAChangedOneIsIndexedAgainNotKept() throws {
        let parent = try DomainName("example."), child = try DomainName("sub.example."), sibling = try DomainName("other.")
        #expect(SnapshotBuilder.reindexNeeded(changed: [parent], kept: [child, sibling]))
        #expect(SnapshotBuilder.reindexNeeded(changed: [child], kept: [parent]))
        #expect(!SnapshotBuilder.reindexNeeded(changed: [child], kept: [sibling]))
        #expect(!SnapshotBuilder.reindexNeeded(changed: [], kept: [parent, child]))
    }

    /// What makes a build fail is found before anything is indexed (the publisher checks first, then hands over
    /// the records for the build to drop as it goes): a zone given twice or given and kept, and a zone whose
    /// only SOA is not at its apex or not of class IN.
    @Test func aBuildThatWouldFailIsFoundBeforeAnythingIsIndexed() throws {
        let builder = SnapshotBuilder()
        let first = try builder.buildIndex(zones: [F.zone(), Self.other(serial: 1, address: 1)])
        let other = Self.other(serial: 2, address: 2)
        func fails(_ zones: [ZoneContent], keep: Set<DomainName> = [], _ message: String) {
            #expect(throws: (any Error).self) { try SnapshotBuilder.check(zones: zones, reusing: first, keep: keep) }
            do {
                _ = try builder.buildIndex(zones: zones, reusing: first, keep: keep)
                Issue.record("built: \(message)")
            } catch {
                #expect("\(error)" == message)
            }
        }
        fails([other, other], "zone other.test. is served twice")
        fails([other], keep: [other.origin, F.origin], "zone other.test. is served twice")
        var soaBelow = other
        soaBelow.records[0] = ResourceRecord(name: try DomainName("www.other.test."), type: .soa, ttl: 300, rdata: other.records[0].rdata)
        fails([soaBelow], "zone other.test. has no SOA at its apex")
        var chaos = other
        chaos.records[0] = ResourceRecord(name: other.origin, type: .soa, rclass: RecordClass.ch, ttl: 300, rdata: other.records[0].rdata)
        fails([chaos], "zone other.test. has no SOA at its apex")
        try SnapshotBuilder.check(zones: [other], reusing: first, keep: [F.origin])
    }

    /// A changed zone indexed with the index that serves its previous version takes from it the names and records
    /// that did not change (their storage shared: a reload holds two copies of what changed only), and answers as
    /// an index built from the new content alone: changed records, TTLs and a name's letter case come from the file.
    @Test func aChangedZoneSharesWhatDidNotChangeWithTheIndexItReplaces() throws {
        let builder = SnapshotBuilder()
        let v1 = Self.other(serial: 1, address: 1)
        let first = try builder.buildIndex(zones: [v1])
        var v2 = Self.other(serial: 2, address: 2)
        // ns.other.test. written NS.other.test. (a new letter case), its address's TTL changed.
        v2.records[2] = ResourceRecord(name: try DomainName("NS.other.test."), type: .a, ttl: 60, rdata: [192, 0, 2, 53])
        let second = try builder.buildIndex(zones: [v2], reusing: first, keep: [])
        let fresh = try builder.buildIndex(zones: [v2])
        let a = builder.build(index: first), b = builder.build(index: second), c = builder.build(index: fresh)
        #expect(try Self.answers(b) == Self.answers(c))

        func storage(_ bytes: [UInt8]) -> UnsafeRawPointer? { bytes.withUnsafeBytes { UnsafeRawPointer($0.baseAddress) } }
        func record(_ s: ServingSnapshot, _ name: String, _ t: RecordType) throws -> EncodedRecord? {
            s.node(for: try DomainName(name))?.rrset(t)?.records.first
        }
        // Unchanged: the apex NS record and the name www.other.test. are the previous index's.
        let ns1 = try #require(try record(a, "other.test.", .ns)), ns2 = try #require(try record(b, "other.test.", .ns))
        #expect(storage(ns2.rdata) == storage(ns1.rdata))
        let www1 = try #require(a.node(for: try DomainName("www.other.test."))), www2 = try #require(b.node(for: try DomainName("www.other.test.")))
        #expect(storage(www2.name.wire) == storage(www1.name.wire))
        #expect(www2 !== www1)
        // Changed: the SOA (serial), www's address, ns's TTL and letter case.
        #expect(try record(b, "other.test.", .soa)?.rdata != record(a, "other.test.", .soa)?.rdata)
        #expect(try F.ask(b, "www.other.test.").1 == ["192.0.2.2"])
        #expect(try record(b, "ns.other.test.", .a)?.ttl == 60)
        #expect(b.node(for: try DomainName("ns.other.test."))?.name.wire == (try DomainName("NS.other.test.")).wire)
        #expect(a.node(for: try DomainName("ns.other.test."))?.name.wire == (try DomainName("ns.other.test.")).wire)
    }
}
