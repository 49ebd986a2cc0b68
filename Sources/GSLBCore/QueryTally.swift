import DNSWire

/// Where the pool-answer counters of a snapshot live: one slot per configured
/// member (by pool and position in the pool's member list) plus one per pool for
/// answers given by its fallback. Built from the configuration alone, so snapshots
/// that only differ in health or overrides share it (and a worker's counts carry over).
public final class TallyLayout: Sendable {
    /// What one slot counts. `address` is empty for a pool's fallback slot.
    public struct Slot: Sendable, Hashable {
        public let pool: String
        public let type: String
        public let address: String
        public let site: String
    }

    public let slots: [Slot]
    /// First slot of each pool of the configuration (same index as `GSLBConfig.pools`).
    let bases: [Int]

    init(config: GSLBConfig) {
        var slots: [Slot] = []
        var bases: [Int] = []
        for p in config.pools {
            bases.append(slots.count)
            let type = p.recordType == .aaaa ? "AAAA" : "A"
            for m in p.members { slots.append(Slot(pool: p.name, type: type, address: m.address, site: m.site)) }
            slots.append(Slot(pool: p.name, type: type, address: "", site: ""))
        }
        self.slots = slots
        self.bases = bases
    }

    public static let empty = TallyLayout(config: GSLBConfig())

    /// The slot of member `member` (index in the config's member list) of pool `pool` (config index).
    /// -1 (not counted) when the layout was not made from this configuration.
    func memberSlot(pool: Int, member: Int) -> Int32 {
        guard pool < bases.count, bases[pool] + member < slots.count else { return -1 }
        return Int32(bases[pool] + member)
    }
    /// The slot counting fallback answers of pool `pool`.
    func fallbackSlot(pool: Int, memberCount: Int) -> Int32? {
        guard pool < bases.count, bases[pool] + memberCount < slots.count else { return nil }
        return Int32(bases[pool] + memberCount)
    }
}

/// What one `AnswerEngine` counted since its owner last drained it: queries by
/// transport × query type × RCODE, dropped packets, and pool answers per member slot.
/// Owned by one worker thread; counting is a few stores into memory allocated up front
/// (no lock, no allocation, no dictionary). The owner drains it into shared totals
/// every few thousand queries or when idle.
public final class QueryTally {
    /// Query type labels; a type not listed counts as `other` (so does a query with no question).
    public static let typeLabels = ["A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "NAPTR", "DS", "RRSIG",
                                    "NSEC", "DNSKEY", "NSEC3", "TLSA", "SVCB", "HTTPS", "CAA", "ANY", "AXFR", "IXFR", "other"]
    static let typeCodes: [UInt16] = [1, 2, 5, 6, 12, 15, 16, 28, 33, 35, 43, 46, 47, 48, 50, 52, 64, 65, 257, 255, 252, 251]
    /// RCODEs 0...22 count as themselves, anything above in the last slot.
    public static let rcodeCount = 24
    public static let transportLabels = ["udp", "tcp"]
    public static var typeCount: Int { typeLabels.count }
    /// Cells of the query matrix: index = (transport × typeCount + type) × rcodeCount + rcode.
    public static var cellCount: Int { transportLabels.count * typeCount * rcodeCount }

    /// The query matrix (see `cellCount`).
    let cells: UnsafeMutablePointer<UInt64>
    /// Query type code (< 256) → type index.
    let typeIndex: UnsafeMutablePointer<UInt8>
    /// [0] queries since the last drain, [1] bit per matrix row (transport × type) with counts,
    /// [2] dropped over UDP, [3] dropped over TCP, [4] touched pool slots.
    let scalars: UnsafeMutablePointer<UInt64>
    /// Response rate limiting: see `rrlCellCount` and `rrlLabels(ofCell:)`.
    let rrl: UnsafeMutablePointer<UInt64>

    /// RRL cells: limited responses by action (drop, slip) × class, then responses over the limit
    /// sent anyway because the client was exempt, by reason (cookie, network).
    public static var rrlCellCount: Int { 2 * RRLClass.allCases.count + 2 }
    public static let rrlActionLabels = ["drop", "slip"]
    public static let rrlExemptLabels = ["cookie", "network"]
    /// What an RRL cell counts: a limited response (`action`, `class`) or an exempt one (`exempt`).
    public static func rrlLabels(ofCell c: Int) -> (action: String?, class: String?, exempt: String?) {
        let n = RRLClass.allCases.count
        if c < 2 * n { return (rrlActionLabels[c / n], RRLClass.allCases[c % n].name, nil) }
        return (nil, nil, rrlExemptLabels[c - 2 * n])
    }

    /// Response sizes in octets: the histogram's upper bounds (`+Inf` implicit): a minimal answer, an
    /// answer with a few records, the old 512-octet UDP limit, the DNS Flag Day 2020 EDNS size, then TCP sizes.
    public static let sizeBounds = [64, 128, 256, 512, 1232, 4096, 16384]
    /// Size cells: per transport, one count per bucket (`sizeBounds.count + 1`), then the octets per transport.
    public static var sizeCellCount: Int { 2 * (sizeBounds.count + 1) + 2 }
    /// See `sizeCellCount`.
    let sizes: UnsafeMutablePointer<UInt64>

    /// Responses per zone (the zone of the query's name) and transport since the last drain. The zone of the
    /// previous response is counted in place (a pointer compare and an increment); when another zone comes, the
    /// current one's counts move into a dictionary by the zone's identity (an insert the first time a zone is
    /// seen after a drain, which empties it and keeps its storage).
    private var zoneCounts: [ObjectIdentifier: ZoneCount] = [:]
    private var currentZone: ZoneHead?
    private var currentCounts: (UInt64, UInt64) = (0, 0)
    struct ZoneCount {
        let head: ZoneHead
        var counts: (UInt64, UInt64)
        mutating func add(_ c: (UInt64, UInt64)) { counts.0 &+= c.0; counts.1 &+= c.1 }
    }

    /// The layout the pool counters are kept in (that of the last snapshot that answered from a pool).
    public private(set) var layout = TallyLayout.empty
    private var slotCounts: UnsafeMutablePointer<UInt64>
    /// Slots that went from 0 to non-zero since the last drain (capacity: every slot).
    private var touched: UnsafeMutablePointer<Int32>
    /// Counts kept under a previous layout, waiting for the next drain.
    private var retired: [(TallyLayout, [(Int32, UInt64)])] = []

    public init() {
        cells = .allocate(capacity: QueryTally.cellCount)
        cells.initialize(repeating: 0, count: QueryTally.cellCount)
        typeIndex = .allocate(capacity: 256)
        typeIndex.initialize(repeating: UInt8(QueryTally.typeCount - 1), count: 256)
        for (i, c) in QueryTally.typeCodes.enumerated() where c < 256 { typeIndex[Int(c)] = UInt8(i) }
        scalars = .allocate(capacity: 5)
        scalars.initialize(repeating: 0, count: 5)
        rrl = .allocate(capacity: QueryTally.rrlCellCount)
        rrl.initialize(repeating: 0, count: QueryTally.rrlCellCount)
        sizes = .allocate(capacity: QueryTally.sizeCellCount)
        sizes.initialize(repeating: 0, count: QueryTally.sizeCellCount)
        slotCounts = .allocate(capacity: 1)
        slotCounts.initialize(to: 0)
        touched = .allocate(capacity: 1)
    }

    deinit {
        cells.deallocate()
        typeIndex.deallocate()
        scalars.deallocate()
        rrl.deallocate()
        sizes.deallocate()
        slotCounts.deallocate()
        touched.deallocate()
    }

    /// Queries counted since the last drain (answered or dropped).
    @inline(__always)
    public var pending: Int { Int(scalars[0]) }

    @inline(__always)
    func typeSlot(_ t: UInt16) -> Int {
        if t < 256 { return Int(typeIndex[Int(t)]) }
        return t == 257 ? 18 : QueryTally.typeCount - 1
    }

    /// One response of `size` octets written: `qtype` nil when the query had no readable question.
    @inline(__always)
    public func count(_ transport: AnswerEngine.Transport, qtype: UInt16?, rcode: UInt16, size: Int) {
        let row = (transport == .udp ? 0 : QueryTally.typeCount) + (qtype.map(typeSlot) ?? QueryTally.typeCount - 1)
        cells[row * QueryTally.rcodeCount + min(Int(rcode), QueryTally.rcodeCount - 1)] &+= 1
        scalars[1] |= 1 << UInt64(row)
        scalars[0] &+= 1
        // The bucket by comparisons (the bounds of `sizeBounds`), not a loop over a global array.
        let bucket = size <= 64 ? 0 : size <= 128 ? 1 : size <= 256 ? 2 : size <= 512 ? 3
            : size <= 1232 ? 4 : size <= 4096 ? 5 : size <= 16384 ? 6 : 7
        let t = transport == .udp ? 0 : 1
        sizes[t * 8 + bucket] &+= 1
        sizes[16 + t] &+= UInt64(max(0, size))
    }

    /// One response for a name in `zone`.
    @inline(__always)
    public func countZone(_ zone: ZoneHead, _ transport: AnswerEngine.Transport) {
        if zone !== currentZone { switchZone(to: zone) }
        if transport == .udp { currentCounts.0 &+= 1 } else { currentCounts.1 &+= 1 }
    }

    /// Moves the current zone's counts into `zoneCounts` and makes `zone` (or none) the current one.
    private func switchZone(to zone: ZoneHead?) {
        if let z = currentZone, currentCounts.0 | currentCounts.1 != 0 {
            let id = ObjectIdentifier(z)
            zoneCounts[id, default: ZoneCount(head: z, counts: (0, 0))].add(currentCounts)
        }
        currentZone = zone
        currentCounts = (0, 0)
    }

    /// One packet not answered (not a query, or cut because it was larger than the receive buffer).
    @inline(__always)
    public func countDropped(_ transport: AnswerEngine.Transport) {
        scalars[transport == .udp ? 2 : 3] &+= 1
        scalars[0] &+= 1
    }

    /// One response over the RRL limit, dropped or sent truncated (`slip`).
    @inline(__always)
    public func countRRLLimited(slip: Bool, class c: RRLClass) {
        rrl[(slip ? RRLClass.allCases.count : 0) + c.rawValue] &+= 1
        scalars[0] &+= 1
    }

    /// One response over the RRL limit sent anyway: valid server cookie, or `--rrl-exempt` network.
    @inline(__always)
    public func countRRLExempt(cookie: Bool) {
        rrl[2 * RRLClass.allCases.count + (cookie ? 0 : 1)] &+= 1
    }

    /// One pool decision: every answered address counts on its member's slot; a fallback
    /// answer (whatever it holds, even nothing or SERVFAIL) also on the asked pool's fallback slot.
    @inline(__always)
    func countPool(_ d: PoolDecision, fallbackSlot: Int32?, layout l: TallyLayout) {
        if l !== layout { retarget(l) }
        d.forEachSlot { bump($0) }
        if let f = fallbackSlot { bump(f) }
    }

    @inline(__always)
    private func bump(_ s: Int32) {
        let i = Int(s)
        guard i >= 0 && i < layout.slots.count else { return }
        if slotCounts[i] == 0 {
            touched[Int(scalars[4])] = s
            scalars[4] &+= 1
        }
        slotCounts[i] &+= 1
    }

    /// A snapshot with another layout answered: keep the old counts aside, start anew.
    /// Allocates, once per full rebuild at most.
    private func retarget(_ l: TallyLayout) {
        let n = Int(scalars[4])
        if n > 0 {
            var kept: [(Int32, UInt64)] = []
            kept.reserveCapacity(n)
            for k in 0..<n { let s = touched[k]; kept.append((s, slotCounts[Int(s)])) }
            retired.append((layout, kept))
        }
        slotCounts.deallocate()
        touched.deallocate()
        let c = max(1, l.slots.count)
        slotCounts = .allocate(capacity: c)
        slotCounts.initialize(repeating: 0, count: c)
        touched = .allocate(capacity: c)
        scalars[4] = 0
        layout = l
    }

    /// Hands every count to the caller and zeroes it. `query(cell, n)` gets the non-zero cells of
    /// the query matrix, `dropped(transport, n)` the dropped packets, `answer(layout, slot, n)` the pool
    /// slots (by position in `layout.slots`: the caller keeps them in an array, not hashed by their labels),
    /// `rrl(cell, n)` the rate-limiting cells (`rrlLabels(ofCell:)`).
    public func drain(query: (Int, UInt64) -> Void, dropped: (Int, UInt64) -> Void,
                      answer: (TallyLayout, Int, UInt64) -> Void, rrl rrlCell: (Int, UInt64) -> Void = { _, _ in },
                      size: (Int, UInt64) -> Void = { _, _ in },
                      zone: (DomainName, Int, UInt64) -> Void = { _, _, _ in }) {
        switchZone(to: nil)
        for (_, z) in zoneCounts {
            if z.counts.0 > 0 { zone(z.head.origin, 0, z.counts.0) }
            if z.counts.1 > 0 { zone(z.head.origin, 1, z.counts.1) }
        }
        zoneCounts.removeAll(keepingCapacity: true)
        for c in 0..<QueryTally.sizeCellCount where sizes[c] > 0 {
            size(c, sizes[c])
            sizes[c] = 0
        }
        for c in 0..<QueryTally.rrlCellCount where rrl[c] > 0 {
            rrlCell(c, rrl[c])
            rrl[c] = 0
        }
        var rows = scalars[1]
        while rows != 0 {
            let r = rows.trailingZeroBitCount
            rows &= rows - 1
            for c in (r * QueryTally.rcodeCount)..<((r + 1) * QueryTally.rcodeCount) where cells[c] > 0 {
                query(c, cells[c])
                cells[c] = 0
            }
        }
        for t in 0..<2 where scalars[2 + t] > 0 {
            dropped(t, scalars[2 + t])
            scalars[2 + t] = 0
        }
        for (l, kept) in retired { for (s, n) in kept { answer(l, Int(s), n) } }
        retired.removeAll()
        for k in 0..<Int(scalars[4]) {
            let s = Int(touched[k])
            answer(layout, s, slotCounts[s])
            slotCounts[s] = 0
        }
        scalars[0] = 0
        scalars[1] = 0
        scalars[4] = 0
    }

    /// The labels of a cell of the query matrix.
    public static func labels(ofCell c: Int) -> (transport: String, type: String, rcode: Int) {
        let row = c / rcodeCount
        return (transportLabels[row / typeCount], typeLabels[row % typeCount], c % rcodeCount)
    }
}
