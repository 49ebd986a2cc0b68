import Foundation
import GSLBCore
import Synchronization

/// Query totals for logs and metrics: by transport × query type × RCODE, dropped
/// packets, and pool answers per member. Workers count into their engine's
/// `QueryTally` and add it here every few thousand queries, at least once a
/// second while busy, or when idle, so the lock here is never taken per query.
public final class QueryCounters: Sendable {
    /// A copy of the totals.
    public struct Totals: Sendable {
        /// Index: see `QueryTally.cellCount` and `QueryTally.labels(ofCell:)`.
        public var queries = [UInt64](repeating: 0, count: QueryTally.cellCount)
        /// By transport (0 UDP, 1 TCP).
        public var dropped: [UInt64] = [0, 0]
        /// Addresses answered per member; a slot with an empty address counts the pool's fallback answers.
        /// Made when read (metrics, drills): the workers add to `byLayout`.
        public var answers: [TallyLayout.Slot: UInt64] {
            var all = carried
            for (l, counts) in byLayout {
                for (i, n) in counts.enumerated() where n > 0 { all[l.slots[i], default: 0] += n }
            }
            return all
        }
        /// The answer counts of the latest layouts (at most `layoutsKept`), by slot position: a drain adds to
        /// an array, where hashing each slot's four labels into one table of every member cost about a
        /// microsecond per query with 50,000 members (cold entries).
        var byLayout: [(layout: TallyLayout, counts: [UInt64])] = []
        /// The counts of older layouts, by labels: a label set's total goes on across configuration changes.
        var carried: [TallyLayout.Slot: UInt64] = [:]
        static let layoutsKept = 2

        mutating func addAnswers(_ l: TallyLayout, _ slot: Int, _ n: UInt64) {
            var i = byLayout.count - 1
            while i >= 0 && byLayout[i].layout !== l { i -= 1 }
            if i < 0 {
                if byLayout.count == Self.layoutsKept {
                    let (old, counts) = byLayout.removeFirst()
                    for (k, c) in counts.enumerated() where c > 0 { carried[old.slots[k], default: 0] += c }
                }
                byLayout.append((l, [UInt64](repeating: 0, count: l.slots.count)))
                i = byLayout.count - 1
            }
            byLayout[i].counts[slot] &+= n
        }
        /// Response rate limiting. Index: see `QueryTally.rrlCellCount` and `QueryTally.rrlLabels(ofCell:)`.
        public var rrl = [UInt64](repeating: 0, count: QueryTally.rrlCellCount)
        /// Response sizes. Index: see `QueryTally.sizeCellCount`.
        public var sizes = [UInt64](repeating: 0, count: QueryTally.sizeCellCount)
        /// Responses per zone origin (`example.com.`), [UDP, TCP]. A zone no longer served keeps its totals.
        public var zones: [String: [UInt64]] = [:]
    }

    private let totals = Mutex<Totals>(Totals())

    public init() {}

    /// Adds what `tally` counted and zeroes it. Call on the thread that owns the tally.
    func add(_ tally: QueryTally) {
        totals.withLock { t in
            tally.drain(query: { c, n in t.queries[c] &+= n },
                        dropped: { i, n in t.dropped[i] &+= n },
                        answer: { l, s, n in t.addAnswers(l, s, n) },
                        rrl: { c, n in t.rrl[c] &+= n },
                        size: { c, n in t.sizes[c] &+= n },
                        zone: { origin, transport, n in t.zones[origin.description, default: [0, 0]][transport] &+= n })
        }
    }

    public var totalsNow: Totals { totals.withLock { $0 } }

    /// Responses with this RCODE, both transports.
    public func count(rcode: Int) -> UInt64 {
        let r = min(max(0, rcode), QueryTally.rcodeCount - 1)
        return totals.withLock { t in
            stride(from: r, to: t.queries.count, by: QueryTally.rcodeCount).reduce(0) { $0 + t.queries[$1] }
        }
    }
    /// Queries over TCP (answered or dropped).
    public var tcpQueries: UInt64 {
        totals.withLock { t in
            let half = t.queries.count / 2
            return t.queries[half...].reduce(0, +) + t.dropped[1]
        }
    }
    /// Responses written.
    public var answered: UInt64 { totals.withLock { $0.queries.reduce(0, +) } }
}

/// When a worker adds its tally to the shared totals: every 4096 queries, or when at
/// least a second went by since the last time (so a trickle of queries shows up in
/// metrics), checked once per batch with the coarse monotonic clock (no system call).
struct FlushPolicy {
    static let everyQueries = 4096
    static let everyMillis: Int64 = 1000
    var last: Int64 = FlushPolicy.nowMillis()

    @inline(__always)
    mutating func due(_ tally: QueryTally) -> Bool {
        guard tally.pending > 0 else { return false }
        if tally.pending >= FlushPolicy.everyQueries { return true }
        return FlushPolicy.nowMillis() - last >= FlushPolicy.everyMillis
    }

    mutating func flush(_ tally: QueryTally, into counters: QueryCounters) {
        counters.add(tally)
        last = FlushPolicy.nowMillis()
    }

    @inline(__always)
    static func nowMillis() -> Int64 { Int64(CoarseClock.nanoseconds() / 1_000_000) }
}
