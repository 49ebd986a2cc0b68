import DNSWire

/// A member as the snapshot sees it: admin, real, forced and effective state.
public struct MemberView: Sendable {
    public let member: Member
    public let address: ClientAddress
    public let site: Site?
    public let real: HealthState
    public let realStale: Bool
    /// Load: reported by the probe, else the member's configured load.
    public let load: Double?
    public let forced: ForcedState?
    /// Which override forced it (`site:fra`, `pool:...`, `member:...`).
    public let forcedBy: String?
    /// That override's id, and the drill that set it when a drill did.
    public var forcedOverride: Int64? = nil
    public var forcedDrill: String? = nil
    /// Eligible for normal answers: enabled, weight > 0, not forced down/drain, not really down.
    public let eligible: Bool
    /// Why not eligible, for explain.
    public let reason: String?
    /// Effective state shown to operators: forced ?? real.
    public var effective: String { forced?.rawValue ?? real.rawValue }

    /// `site:fra (override 3)`, `site:fra (drill 7, override 3)`: what `cairn health` and explain print.
    public static func forcedByText(_ by: String?, override: Int64?, drill: String?) -> String? {
        guard let by else { return nil }
        let what = [drill.map { "drill \($0)" }, override.map { "override \($0)" }].compactMap { $0 }
        return what.isEmpty ? by : "\(by) (\(what.joined(separator: ", ")))"
    }
}

/// The members one decision chose: positions in its selector's `members`, in answer order. At most 16,
/// the largest `answers` (`ConfigValidator.answersRange`): held inline, so a decision allocates nothing.
public struct Picks: Sendable {
    private var at = InlineArray<16, Int32>(repeating: 0)
    public private(set) var count = 0

    init() {}
    init(_ positions: some Sequence<Int>) { for i in positions { append(i) } }

    @inline(__always)
    mutating func append(_ i: Int) {
        guard count < 16 else { return }
        at[count] = Int32(truncatingIfNeeded: i)
        count += 1
    }

    @inline(__always)
    subscript(k: Int) -> Int { Int(at[k]) }

    /// Adds `i` where it keeps the positions ascending (they are then skipped in one pass).
    mutating func insertInOrder(_ i: Int) {
        guard count < 16 else { return }
        var k = count
        while k > 0 && Int(at[k - 1]) > i { at[k] = at[k - 1]; k -= 1 }
        at[k] = Int32(truncatingIfNeeded: i)
        count += 1
    }
}

/// The result of a pool decision for one query: which members of which selector answer.
public struct PoolDecision: Sendable {
    /// The selector that chose (of this pool, or of the pool it falls back to); nil when nothing answers.
    /// A pointer: a decision lives within the query that made it, whose snapshot holds the pool.
    let selector: PackedSelector?
    var picks = Picks()
    /// ECS SCOPE PREFIX-LENGTH: 0 when the answer does not depend on the client.
    public var scope: Int = 0
    public var servfail = false
    public var fallback: Bool

    /// Members chosen.
    public var count: Int { selector == nil ? 0 : picks.count }

    /// The chosen records, in answer order: a slice of the selector's records when the picks follow each
    /// other (any answer of one address), else an array of their own.
    public var records: ArraySlice<EncodedRecord> {
        guard let p = selector, count > 0 else { return [] }
        let first = picks[0]
        if (0..<count).allSatisfy({ picks[$0] == first + $0 }) {
            return p.runtime.records(all: p.all)[first..<(first + count)]
        }
        return (0..<count).map { record($0) }[...]
    }

    /// The `k`th chosen record (a CNAME pool's target is chased from it).
    func record(_ k: Int) -> EncodedRecord {
        let p = selector!
        return p.runtime.records(all: p.all)[picks[k]]
    }

    /// Writes the chosen records after `owner`, counting them in `written`: addresses from their packed
    /// members (TYPE and TTL from the selector's head), a CNAME from its record (its target may be
    /// compressed). False when one does not fit.
    func write(owner: DomainName, into writer: MessageWriter, written: inout Int) -> Bool {
        guard let p = selector else { return true }
        let type = p.type
        for k in 0..<picks.count {
            if type == .cname {
                guard writer.record(owner: owner, record(k)) else { return false }
            } else {
                guard writer.record(owner: owner, type: type, ttl: p.ttl, rdata: p.rdata(picks[k])) else { return false }
            }
            written += 1
        }
        return true
    }

    /// Calls `body` with the tally slot of each chosen member.
    @inline(__always)
    func forEachSlot(_ body: (Int32) -> Void) {
        guard let p = selector else { return }
        for k in 0..<picks.count { body(p.slot(picks[k])) }
    }
}

/// A selector as a query reads it: one allocation aligned to a cache line, a 32-octet head with what a
/// query reads of the pool and the selector, then the packed members. A query for a pool name reads this
/// through `ServingSnapshot.slotSelectors` and not the `PoolRuntime` object (two more cold cache lines
/// with 10,000 pools, and its reference count); policies that need more (closest, consistent-hash) and
/// fallbacks go on through `runtime`. Per member: its cumulative weight (8 octets), its tally slot (4)
/// and its address's RDATA; a member of an A or CNAME pool takes 16 octets (the A RDATA in the last 4; a
/// CNAME's record is written from `Selector.records`), one of an AAAA pool 32 (the RDATA in the last 16),
/// so the head and five members of an A pool fit in two cache lines. A view without references, so
/// that reading it costs no reference counting; `PackedSelectorBuffer` owns the memory.
struct PackedSelector: @unchecked Sendable {
    // The head: total @0, runtime @8, count @16, ttl @20, type @24, policy @26, answers @27,
    // constantCount @28, ecs @29, all @30, stride @31; the members from @32.
    fileprivate let base: UnsafeRawPointer
    static let headSize = 32

    /// The last member's cumulative weight (0 without members).
    var total: UInt64 { base.load(fromByteOffset: 0, as: UInt64.self) }
    /// The pool this selector is of.
    var runtime: PoolRuntime {
        Unmanaged<PoolRuntime>.fromOpaque(base.load(fromByteOffset: 8, as: UnsafeRawPointer.self)).takeUnretainedValue()
    }
    var count: Int { Int(base.load(fromByteOffset: 16, as: Int32.self)) }
    /// The pool's TTL and record type.
    var ttl: UInt32 { base.load(fromByteOffset: 20, as: UInt32.self) }
    var type: RecordType { base.load(fromByteOffset: 24, as: RecordType.self) }
    var policy: PolicyKind { base.load(fromByteOffset: 26, as: PolicyKind.self) }
    var answers: Int { Int(base.load(fromByteOffset: 27, as: UInt8.self)) }
    /// The answer when it does not depend on the client: the first `constantCount` members.
    var constantCount: Int { Int(base.load(fromByteOffset: 28, as: UInt8.self)) }
    /// The pool's `ecs`.
    var ecs: Bool { base.load(fromByteOffset: 29, as: Bool.self) }
    /// The selector over every enabled member (`fallback: all`), not the eligible ones.
    var all: Bool { base.load(fromByteOffset: 30, as: Bool.self) }
    /// Octets per member: 16, or 32 for AAAA.
    private var stride: Int { Int(base.load(fromByteOffset: 31, as: UInt8.self)) }

    var isEmpty: Bool { count == 0 }
    var indices: Range<Int> { 0..<count }
    var constant: Picks { Picks(0..<constantCount) }

    /// Sum of the weights of the members up to and including member `i` (weighted).
    @inline(__always)
    func cumulative(_ i: Int) -> UInt64 { base.load(fromByteOffset: Self.headSize &+ i &* stride, as: UInt64.self) }

    @inline(__always)
    func slot(_ i: Int) -> Int32 { base.load(fromByteOffset: Self.headSize &+ i &* stride &+ 8, as: Int32.self) }

    /// Member `i`'s RDATA: 4 octets, or 16 for AAAA.
    @inline(__always)
    func rdata(_ i: Int) -> UnsafeRawBufferPointer {
        let (at, length) = Self.rdataPlace(stride: stride)
        return UnsafeRawBufferPointer(start: base + (Self.headSize &+ i &* stride &+ at), count: length)
    }

    /// Where a member's RDATA is within its `stride` octets, and its length: A (16) in the last 4, AAAA (32)
    /// in the last 16.
    @inline(__always)
    static func rdataPlace(stride: Int) -> (offset: Int, length: Int) { stride == 16 ? (12, 4) : (16, 16) }
}

/// The memory of a selector's `PackedSelector` (immutable once its pool is attached).
final class PackedSelectorBuffer: @unchecked Sendable {
    private let memory: UnsafeMutableRawPointer
    let packed: PackedSelector

    /// `rdata` empty for a CNAME pool's members; AAAA RDATA is 16 octets, A RDATA 4.
    init(pool: Pool, all: Bool, answers: Int, constantCount: Int, members entries: [(cumulative: UInt64, slot: Int32, rdata: [UInt8])]) {
        let wide = pool.recordType == .aaaa
        let stride = wide ? 32 : 16
        let bytes = PackedSelector.headSize + max(32, entries.count * stride)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        memory.storeBytes(of: entries.last?.cumulative ?? 0, toByteOffset: 0, as: UInt64.self)
        memory.storeBytes(of: Int32(entries.count), toByteOffset: 16, as: Int32.self)
        memory.storeBytes(of: UInt32(max(0, pool.ttl)), toByteOffset: 20, as: UInt32.self)
        memory.storeBytes(of: pool.recordType, toByteOffset: 24, as: RecordType.self)
        memory.storeBytes(of: pool.policy, toByteOffset: 26, as: PolicyKind.self)
        memory.storeBytes(of: UInt8(answers), toByteOffset: 27, as: UInt8.self)
        memory.storeBytes(of: UInt8(constantCount), toByteOffset: 28, as: UInt8.self)
        memory.storeBytes(of: pool.ecs, toByteOffset: 29, as: Bool.self)
        memory.storeBytes(of: all, toByteOffset: 30, as: Bool.self)
        memory.storeBytes(of: UInt8(stride), toByteOffset: 31, as: UInt8.self)
        for (i, e) in entries.enumerated() {
            let at = PackedSelector.headSize + i * stride
            memory.storeBytes(of: e.cumulative, toByteOffset: at, as: UInt64.self)
            memory.storeBytes(of: e.slot, toByteOffset: at + 8, as: Int32.self)
            let place = PackedSelector.rdataPlace(stride: stride)
            e.rdata.prefix(place.length).withUnsafeBytes {
                (memory + at + place.offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
            }
        }
        self.memory = memory
        packed = PackedSelector(base: UnsafeRawPointer(memory))
    }

    /// Points the head at the pool that holds this buffer (not retained: the pool owns the buffer).
    func attach(_ runtime: PoolRuntime) {
        memory.storeBytes(of: UnsafeRawPointer(Unmanaged.passUnretained(runtime).toOpaque()), toByteOffset: 8, as: UnsafeRawPointer.self)
    }

    deinit { memory.deallocate() }
}

/// One policy over one set of members, with everything precomputed. The members are in the order the
/// policy prefers when the answer does not depend on the client (priority, weight, file order; for
/// least-loaded, load), so that such an answer is the first members. The fields a query reads come first.
struct Selector: Sendable {
    /// The head and the members a query reads (policy, answers, total weight, ...).
    let packed: PackedSelector
    /// Owns `packed`'s memory.
    let buffer: PackedSelectorBuffer
    /// The members' records (same order as `members`): CNAME pools, signed answers and explain write these.
    let records: [EncodedRecord]
    /// closest: the members per topology entry.
    let byEntry: [Picks]
    /// consistent-hash: each member's seed.
    let seeds: [UInt64]
    /// closest with a GeoIP database: each member's site's location (nil when it has none), ordered per
    /// query by distance from the coordinates of the client's GeoIP record.
    let located: [GeoPoint?]

    var isEmpty: Bool { packed.isEmpty }
}

/// A pool prepared for the query path. A query for a pool name reads its primary selector's
/// `PackedSelector` (`ServingSnapshot.slotSelectors`), and this object only for what that does not hold.
public final class PoolRuntime: Sendable {
    public let type: RecordType
    let primary: Selector
    /// The slot counting this pool's fallback answers; nil when the pool has no layout.
    public let fallbackSlot: Int32?
    public let pool: Pool
    public let name: DomainName
    public let members: [MemberView]
    let fallbackAll: Selector
    let fallbackPool: PoolRuntime?
    let topology: TopologyTable
    /// Every site of the configuration (closest uses their coordinates and regions).
    let sites: [String: Site]

    public static let hashPrefixV4 = 24
    public static let hashPrefixV6 = 56

    init(pool: Pool, name: DomainName, members: [MemberView], sites: [String: Site], topology: TopologyTable,
         fallbackPool: PoolRuntime?, memberSlots: [Int32]? = nil, fallbackSlot: Int32? = nil) {
        self.pool = pool
        self.name = name
        self.type = pool.recordType
        self.members = members
        let slots = memberSlots ?? [Int32](repeating: -1, count: members.count)
        self.fallbackSlot = fallbackSlot
        self.topology = topology
        self.sites = sites
        self.fallbackPool = fallbackPool
        let ttl = UInt32(max(0, pool.ttl))
        // A CNAME pool's records are CNAMEs to the members' targets (validated names: a member whose name
        // does not parse never gets a view).
        let records = members.map { m in
            EncodedRecord(type: pool.recordType, ttl: ttl,
                          rdata: pool.isCNAME ? ((try? DomainName(m.member.address))?.wire ?? [0]) : m.address.bytes)
        }
        let eligible = members.indices.filter { members[$0].eligible }
        let enabled = members.indices.filter { members[$0].member.state == .enabled }
        primary = PoolRuntime.makeSelector(pool: pool, members: members, set: eligible, records: records, slots: slots,
                                           sites: sites, topology: topology, useWeights: true)
        fallbackAll = PoolRuntime.makeSelector(pool: pool, members: members, set: enabled, records: records, slots: slots,
                                               sites: sites, topology: topology, useWeights: false, all: true)
        primary.buffer.attach(self)
        fallbackAll.buffer.attach(self)
    }

    /// The primary selector's head and members, as the query path holds them.
    var packed: PackedSelector { primary.packed }

    /// The records of the selector `PackedSelector.all` names, in its members' order.
    func records(all: Bool) -> [EncodedRecord] { all ? fallbackAll.records : primary.records }

    /// Chooses the answer for one query. No allocation for answers of one address.
    @inline(__always)
    public func select(client: ClientNetwork?, rng: inout some RandomSource, counter: inout UInt64) -> PoolDecision {
        PoolRuntime.select(primary.packed, client: client, rng: &rng, counter: &counter)
    }

    /// `select` from a pool's primary selector as the query path holds it: the pool object is read only
    /// when the policy (closest, consistent-hash) or a fallback needs it.
    @inline(__always)
    static func select(_ p: PackedSelector, client: ClientNetwork?, rng: inout some RandomSource, counter: inout UInt64) -> PoolDecision {
        if !p.isEmpty { return run(p, client: client, rng: &rng, counter: &counter, fallback: false) }
        return p.runtime.selectFallback(client: client, rng: &rng, counter: &counter)
    }

    /// The answer when no member is eligible: the pool's `fallback`.
    func selectFallback(client: ClientNetwork?, rng: inout some RandomSource, counter: inout UInt64) -> PoolDecision {
        switch pool.fallback {
        case .all:
            if fallbackAll.isEmpty { return PoolDecision(selector: nil, fallback: true) }
            return PoolRuntime.run(fallbackAll.packed, client: client, rng: &rng, counter: &counter, fallback: true)
        case .none:
            return PoolDecision(selector: nil, fallback: true)
        case .servfail:
            return PoolDecision(selector: nil, servfail: true, fallback: true)
        case .pool:
            guard let other = fallbackPool else { return PoolDecision(selector: nil, fallback: true) }
            var d = other.select(client: client, rng: &rng, counter: &counter)
            d.fallback = true
            return d
        }
    }

    static func clientNetwork(_ c: ClientNetwork?) -> ClientNetwork? {
        guard let c, c.address.family != 0 else { return nil }
        return c
    }

    @inline(__always)
    static func run(_ p: PackedSelector, client: ClientNetwork?, rng: inout some RandomSource, counter: inout UInt64,
                    fallback: Bool) -> PoolDecision {
        var d = PoolDecision(selector: p, fallback: fallback)
        let n = p.count
        switch p.policy {
        case .failover, .allHealthy, .leastLoaded:
            d.picks = p.constant
        case .roundRobin:
            counter &+= 1
            let i = Int(counter % UInt64(n))
            for k in 0..<min(p.answers, n) { d.picks.append((i + k) % n) }
        case .weighted:
            let total = p.total
            guard total > 0 else { d.picks = p.constant; break }
            if p.answers == 1 || n == 1 {
                d.picks.append(PoolRuntime.pick(p, rng.below(total)))
            } else {
                d.picks = PoolRuntime.weightedSample(p, total: total, rng: &rng)
            }
        case .closest:
            guard let c = clientNetwork(client) else { d.picks = p.constant; break }
            let r = p.runtime
            if p.all { r.closest(r.fallbackAll, p, c, &d) } else { r.closest(r.primary, p, c, &d) }
        case .consistentHash:
            guard let c = clientNetwork(client) else { d.picks = p.constant; break }
            let r = p.runtime
            if p.all { consistentHash(r.fallbackAll, p, c, &d) } else { consistentHash(r.primary, p, c, &d) }
        }
        return d
    }

    /// closest: the topology entry the client matches, else its GeoIP record's map entry or coordinates.
    func closest(_ s: Selector, _ p: PackedSelector, _ c: ClientNetwork, _ d: inout PoolDecision) {
        if let m = topology.match(c) {
            d.scope = m.prefix
            d.picks = s.byEntry[m.index].count > 0 ? s.byEntry[m.index] : p.constant
        } else if let g = topology.geo {
            // No entry matched: the database's record of the client network, its map entry, else its coordinates.
            let r = g.database.lookup(c.address.masked(c.prefix))
            d.scope = topology.geoScope(c, r)
            d.picks = p.constant
            if let i = g.match(r) {
                let k = topology.entries.count + i
                if s.byEntry[k].count > 0 { d.picks = s.byEntry[k] }
            } else if r.found, let origin = r.location, !s.located.isEmpty {
                d.picks = PoolRuntime.nearest(s, answers: p.answers, to: origin)
            }
        } else {
            d.scope = topology.unmatchedScope(c)
            d.picks = p.constant
        }
    }

    /// consistent-hash: the members whose seeds score highest against the client's network.
    static func consistentHash(_ s: Selector, _ p: PackedSelector, _ c: ClientNetwork, _ d: inout PoolDecision) {
        let keyPrefix = min(c.prefix, c.address.family == 4 ? PoolRuntime.hashPrefixV4 : PoolRuntime.hashPrefixV6)
        let k = c.address.masked(keyPrefix)
        let key = mix64(k.hi ^ mix64(k.lo ^ UInt64(k.family)))
        d.scope = keyPrefix
        if p.answers == 1 || p.count == 1 {
            var best = 0
            var bestScore: UInt64 = 0
            for i in 0..<s.seeds.count {
                let score = mix64(s.seeds[i] ^ key)
                if i == 0 || score > bestScore { best = i; bestScore = score }
            }
            d.picks.append(best)
        } else {
            d.picks = Picks(s.seeds.indices.sorted { mix64(s.seeds[$0] ^ key) > mix64(s.seeds[$1] ^ key) }.prefix(p.answers))
        }
    }

    /// closest from a GeoIP record's coordinates: the `answers` members nearest to `origin` (members whose
    /// site has no location after the others), ties in preference order. One address: no allocation.
    static func nearest(_ s: Selector, answers: Int, to origin: GeoPoint) -> Picks {
        if answers == 1 || s.located.count == 1 {
            var best = 0
            var bestKm = Double.infinity
            for i in s.located.indices {
                guard let l = s.located[i] else { continue }
                let km = greatCircleKm(origin, l)
                if km < bestKm { best = i; bestKm = km }
            }
            return Picks(CollectionOfOne(best))
        }
        return Picks(s.located.indices.sorted { a, b in
            let da = s.located[a].map { greatCircleKm(origin, $0) } ?? .infinity
            let db = s.located[b].map { greatCircleKm(origin, $0) } ?? .infinity
            return da != db ? da < db : a < b
        }.prefix(answers))
    }

    /// The member whose share of the cumulative weights holds `r`.
    @inline(__always)
    static func pick(_ members: PackedSelector, _ r: UInt64) -> Int {
        var lo = 0, hi = members.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if r < members.cumulative(mid) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// `answers` distinct members, each drawn by weight from those not drawn yet: one pass over the members
    /// per draw, the drawn ones skipped in ascending order (`taken`). Allocates nothing.
    static func weightedSample(_ s: PackedSelector, total: UInt64, rng: inout some RandomSource) -> Picks {
        var picks = Picks()
        var taken = Picks()
        var remaining = total
        while picks.count < s.answers && remaining > 0 {
            var r = rng.below(remaining)
            var prev: UInt64 = 0
            var t = 0
            for i in s.indices {
                let w = s.cumulative(i) - prev
                prev = s.cumulative(i)
                if t < taken.count && taken[t] == i { t += 1; continue }
                guard w > 0 else { continue }
                if r < w {
                    picks.append(i)
                    taken.insertInOrder(i)
                    remaining -= w
                    break
                }
                r -= w
            }
        }
        return picks
    }

    /// Preference order for the failover group / all-healthy / default: priority, then weight (desc), then file order.
    static func baseOrder(_ members: [MemberView], _ set: [Int]) -> [Int] {
        set.sorted { a, b in
            let ma = members[a].member, mb = members[b].member
            if ma.priority != mb.priority { return ma.priority < mb.priority }
            if ma.weight != mb.weight { return ma.weight > mb.weight }
            return a < b
        }
    }

    static func loadRatio(_ m: MemberView) -> Double {
        let load = m.load ?? m.site?.load
        guard let l = load else { return .infinity }
        if let c = m.site?.capacity, c > 0 { return l / c }
        return l
    }

    /// Region → centroid of the sites of that region that have coordinates.
    static func regionCentroids(_ sites: [String: Site]) -> [String: GeoPoint] {
        var acc: [String: (Double, Double, Int)] = [:]
        for s in sites.values {
            guard let r = s.region, let l = s.location else { continue }
            let a = acc[r] ?? (0, 0, 0)
            acc[r] = (a.0 + l.lat, a.1 + l.lon, a.2 + 1)
        }
        return acc.mapValues { GeoPoint(lat: $0.0 / Double($0.2), lon: $0.1 / Double($0.2)) }
    }

    /// Closest: per topology entry, members in the entry's site/region first, then by distance.
    static func closestOrders(members: [MemberView], set: [Int], sites: [String: Site], topology: TopologyTable) -> ([[Int]], [Int]) {
        let base = baseOrder(members, set)
        let centroids = regionCentroids(sites)
        var out: [[Int]] = []
        for e in topology.places {
            var origin: GeoPoint? = e.location
            if let s = e.site { origin = sites[s]?.location }
            if let r = e.region { origin = centroids[r] }
            func rank(_ i: Int) -> (Int, Double) {
                let m = members[i]
                let local = (e.site != nil && m.member.site == e.site) || (e.region != nil && m.site?.region == e.region)
                // Inside the client's site/region the pool's own order decides; outside, distance.
                if local { return (0, 0) }
                var dist = Double.infinity
                if let o = origin, let l = m.site?.location { dist = greatCircleKm(o, l) }
                return (1, dist)
            }
            let ordered = base.enumerated().sorted { a, b in
                let ra = rank(a.element), rb = rank(b.element)
                if ra.0 != rb.0 { return ra.0 < rb.0 }
                if ra.1 != rb.1 { return ra.1 < rb.1 }
                return a.offset < b.offset
            }.map(\.element)
            out.append(ordered)
        }
        return (out, base)
    }

    static func makeSelector(pool: Pool, members: [MemberView], set: [Int], records: [EncodedRecord], slots: [Int32],
                             sites: [String: Site], topology: TopologyTable, useWeights: Bool, all: Bool = false) -> Selector {
        // One CNAME per name (RFC 2181 §10.1): a CNAME pool answers one target whatever `answers` says. At
        // most 16 (`ConfigValidator.answersRange`), what `Picks` holds.
        let n = pool.isCNAME ? 1 : min(16, max(1, pool.answers))
        var order = baseOrder(members, set)
        var constantCount = min(n, order.count)
        switch pool.policy {
        case .failover:
            let top = order.first.map { members[$0].member.priority }
            constantCount = min(n, order.prefix { members[$0].member.priority == top }.count)
        case .leastLoaded:
            order = order.enumerated().sorted { a, b in
                let la = loadRatio(members[a.element]), lb = loadRatio(members[b.element])
                return la != lb ? la < lb : a.offset < b.offset
            }.map(\.element)
        default:
            break
        }
        var byEntry: [Picks] = []
        // Orders per topology entry serve closest only: a pool of another policy does not pay one sort per
        // topology entry (10,000 pools × 5,000 entries made every configuration write take minutes).
        if pool.policy == .closest {
            let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
            byEntry = closestOrders(members: members, set: set, sites: sites, topology: topology).0.map { o in
                Picks(o.prefix(n).map { position[$0]! })
            }
        }
        var sum: UInt64 = 0
        let buffer = PackedSelectorBuffer(pool: pool, all: all, answers: n, constantCount: constantCount, members: order.map { i in
            sum += UInt64(useWeights ? max(0, members[i].member.weight) : max(1, members[i].member.weight))
            return (sum, slots[i], pool.isCNAME ? [] : records[i].rdata)
        })
        return Selector(
            packed: buffer.packed, buffer: buffer,
            records: order.map { records[$0] },
            byEntry: byEntry,
            seeds: order.map { pool.isCNAME ? fnv1a(records[$0].rdata) : fnv1a(members[$0].address.bytes) },
            located: pool.policy == .closest && topology.geo != nil ? order.map { members[$0].site?.location } : [])
    }
}
