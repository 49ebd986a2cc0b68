import DNSWire
@testable import GSLBCore
import Testing

/// The per-zone counters of a worker's tally (`cairn_zone_queries_total`): the current zone is counted in
/// place, others move into the dictionary when the zone changes, and a drain hands out every count once.
@Suite struct QueryTallyZoneTests {
    static func head(_ origin: String) throws -> ZoneHead {
        ZoneHead(origin: try DomainName(origin), negativeSOA: EncodedRecord(type: .soa, ttl: 60, rdata: []))
    }

    static func drained(_ t: QueryTally) -> [String: [UInt64]] {
        var out: [String: [UInt64]] = [:]
        t.drain(query: { _, _ in }, dropped: { _, _ in }, answer: { _, _ in },
                zone: { origin, transport, n in out[origin.description, default: [0, 0]][transport] += n })
        return out
    }

    @Test func interleavedZonesAndTransportsAreCountedOnceEach() throws {
        let (a, b, c) = (try Self.head("a.test."), try Self.head("b.test."), try Self.head("c.test."))
        let t = QueryTally()
        for _ in 0..<3 { t.countZone(a, .udp) }
        t.countZone(b, .udp)
        t.countZone(a, .tcp)
        t.countZone(a, .udp)
        for _ in 0..<5 { t.countZone(c, .tcp) }
        t.countZone(b, .udp)
        #expect(Self.drained(t) == ["a.test.": [4, 1], "b.test.": [2, 0], "c.test.": [0, 5]])
        // A drain empties everything, the current zone's counts included.
        #expect(Self.drained(t).isEmpty)
        t.countZone(c, .udp)
        #expect(Self.drained(t) == ["c.test.": [1, 0]])
    }
}
