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
        t.drain(query: { _, _ in }, dropped: { _, _ in }, answer: { _, _, _ in },
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

    /// `count(size:)` picks the bucket by comparisons written out for the query path; they must be
    /// `sizeBounds` (what the metric's `le` labels say): each bound lands in its bucket, one octet more in the next.
    @Test func theSizeBucketsAreTheDocumentedBounds() {
        for (i, bound) in QueryTally.sizeBounds.enumerated() {
            for (size, bucket) in [(bound, i), (bound + 1, i + 1)] {
                let t = QueryTally()
                t.count(.udp, qtype: 1, rcode: 0, size: size)
                var cells: [Int: UInt64] = [:]
                t.drain(query: { _, _ in }, dropped: { _, _ in }, answer: { _, _, _ in }, size: { c, n in cells[c] = n })
                #expect(cells[bucket] == 1, "\(size) octets: \(cells)")
                #expect(cells[2 * (QueryTally.sizeBounds.count + 1)] == UInt64(size), "the UDP octets")
            }
        }
    }
}
