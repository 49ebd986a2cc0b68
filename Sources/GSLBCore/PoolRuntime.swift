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

/// The result of a pool decision for one query.
public struct PoolDecision: Sendable {
    /// A slice of one of the selector's arrays when the answer is client-independent or one address: no
    /// array of its own per member or rotation, so the query path reads one array fewer.
    public var records: ArraySlice<EncodedRecord>
    /// The tally slot of each record's member (same order as `records`), for metrics.
    public var slots: ArraySlice<Int32> = []
    /// ECS SCOPE PREFIX-LENGTH: 0 when the answer does not depend on the client.
    public var scope: Int = 0
    public var servfail = false
    public var fallback: Bool
}

/// One policy over one set of members, with everything precomputed. The fields a query reads come first.
struct Selector: Sendable {
    let policy: PolicyKind
    let answers: Int
    /// The members' records in the order of `members` (one answer of one address is a slice of one).
    let records: [EncodedRecord]
    /// The members' tally slots, parallel to the record arrays (metrics).
    let slots: [Int32]
    let cumulative: [UInt64]
    /// failover, all-healthy, least-loaded, and closest for unknown clients.
    let constant: [EncodedRecord]
    let constantSlots: [Int32]
    /// round-robin: the members' records in base order twice, so that rotation `r` is `r ..< r + min(answers, count)`.
    let rotations: [EncodedRecord]
    let rotationSlots: [Int32]
    /// Indices into the pool's members, in the order the policy prefers when client-independent.
    let members: [Int]
    /// closest: per topology entry.
    let byEntry: [[EncodedRecord]]
    let byEntrySlots: [[Int32]]
    let seeds: [UInt64]
    /// closest with a GeoIP database: the members in base order with their site's location (nil when it has
    /// none), and their records and slots: ordered per query by distance from the coordinates of the
    /// client's GeoIP record.
    let located: [GeoPoint?]
    let locatedRecords: [EncodedRecord]
    let locatedSlots: [Int32]

    var isEmpty: Bool { records.isEmpty }
}

/// A pool prepared for the query path. The fields a query reads come first (stored in declaration order):
/// with 10,000 pools a query finds them cold, and one cache line holds them.
public final class PoolRuntime: Sendable {
    public let type: RecordType
    /// `pool.ecs`, copied into the first cache line (`pool` is large and comes later).
    let ecs: Bool
    let primary: Selector
    /// The slot counting this pool's fallback answers; nil when the pool has no layout.
    public let fallbackSlot: Int32?
    public let pool: Pool
    public let name: DomainName
    public let members: [MemberView]
    /// Each member's slot in the snapshot's `TallyLayout` (same index as `members`).
    public let memberSlots: [Int32]
    let fallbackAll: Selector
    let fallbackPool: PoolRuntime?
    let topology: TopologyTable
    /// Every site of the configuration (closest uses their coordinates and regions).
    let sites: [String: Site]
    /// Member indices in preference order per topology entry (closest), for explain.
    let entryOrder: [[Int]]
    let defaultOrder: [Int]

    public static let hashPrefixV4 = 24
    public static let hashPrefixV6 = 56

    init(pool: Pool, name: DomainName, members: [MemberView], sites: [String: Site], topology: TopologyTable,
         fallbackPool: PoolRuntime?, memberSlots: [Int32]? = nil, fallbackSlot: Int32? = nil) {
        self.pool = pool
        self.name = name
        self.type = pool.recordType
        self.ecs = pool.ecs
        self.members = members
        let slots = memberSlots ?? [Int32](repeating: -1, count: members.count)
        self.memberSlots = slots
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
        // Orders per topology entry serve closest only: a pool of another policy does not pay one sort per
        // topology entry (10,000 pools × 5,000 entries made every configuration write take minutes).
        if pool.policy == .closest {
            (entryOrder, defaultOrder) = PoolRuntime.closestOrders(members: members, set: eligible, sites: sites, topology: topology)
        } else {
            (entryOrder, defaultOrder) = ([], PoolRuntime.baseOrder(members, eligible))
        }
        primary = PoolRuntime.makeSelector(pool: pool, members: members, set: eligible, records: records, slots: slots,
                                           sites: sites, topology: topology, useWeights: true)
        fallbackAll = PoolRuntime.makeSelector(pool: pool, members: members, set: enabled, records: records, slots: slots,
                                               sites: sites, topology: topology, useWeights: false)
    }

    /// Chooses the answer for one query. No allocation for answers of one address.
    @inline(__always)
    public func select(client: ClientNetwork?, rng: inout some RandomSource, counter: inout UInt64) -> PoolDecision {
        if !primary.isEmpty {
            return run(primary, client: client, rng: &rng, counter: &counter, fallback: false)
        }
        switch pool.fallback {
        case .all:
            if fallbackAll.isEmpty { return PoolDecision(records: [], fallback: true) }
            return run(fallbackAll, client: client, rng: &rng, counter: &counter, fallback: true)
        case .none:
            return PoolDecision(records: [], fallback: true)
        case .servfail:
            return PoolDecision(records: [], servfail: true, fallback: true)
        case .pool:
            guard let other = fallbackPool else { return PoolDecision(records: [], fallback: true) }
            var d = other.select(client: client, rng: &rng, counter: &counter)
            d.fallback = true
            return d
        }
    }

    func clientNetwork(_ c: ClientNetwork?) -> ClientNetwork? {
        guard let c, c.address.family != 0 else { return nil }
        return c
    }

    @inline(__always)
    func run(_ s: Selector, client: ClientNetwork?, rng: inout some RandomSource, counter: inout UInt64, fallback: Bool) -> PoolDecision {
        switch s.policy {
        case .failover, .allHealthy, .leastLoaded:
            return PoolDecision(records: s.constant[...], slots: s.constantSlots[...], fallback: fallback)
        case .roundRobin:
            counter &+= 1
            let i = Int(counter % UInt64(max(1, s.records.count)))
            let r = i..<(i + min(s.answers, s.records.count))
            return PoolDecision(records: s.rotations[r], slots: s.rotationSlots[r], fallback: fallback)
        case .weighted:
            let total = s.cumulative.last ?? 0
            guard total > 0 else {
                return PoolDecision(records: s.constant[...], slots: s.constantSlots[...], fallback: fallback)
            }
            if s.answers == 1 || s.records.count == 1 {
                let i = PoolRuntime.pick(s.cumulative, rng.below(total))
                return PoolDecision(records: s.records[i...i], slots: s.slots[i...i], fallback: fallback)
            }
            let (recs, slots) = PoolRuntime.weightedSample(s, rng: &rng)
            return PoolDecision(records: recs, slots: slots, fallback: fallback)
        case .closest:
            guard let c = clientNetwork(client) else {
                return PoolDecision(records: s.constant[...], slots: s.constantSlots[...], fallback: fallback)
            }
            if let m = topology.match(c) {
                let recs = s.byEntry[m.index]
                if recs.isEmpty {
                    return PoolDecision(records: s.constant[...], slots: s.constantSlots[...], scope: m.prefix, fallback: fallback)
                }
                return PoolDecision(records: recs[...], slots: s.byEntrySlots[m.index][...], scope: m.prefix, fallback: fallback)
            }
            if let g = topology.geo {
                // No entry matched: the database's record of the client network, its map entry, else its coordinates.
                let r = g.database.lookup(c.address.masked(c.prefix))
                let scope = topology.geoScope(c, r)
                if let i = g.match(r) {
                    let k = topology.entries.count + i
                    let recs = s.byEntry[k]
                    if !recs.isEmpty {
                        return PoolDecision(records: recs[...], slots: s.byEntrySlots[k][...], scope: scope, fallback: fallback)
                    }
                } else if r.found, let origin = r.location, !s.located.isEmpty {
                    return PoolRuntime.nearest(s, to: origin, scope: scope, fallback: fallback)
                }
                return PoolDecision(records: s.constant[...], slots: s.constantSlots[...], scope: scope, fallback: fallback)
            }
            return PoolDecision(records: s.constant[...], slots: s.constantSlots[...], scope: topology.unmatchedScope(c),
                                fallback: fallback)
        case .consistentHash:
            guard let c = clientNetwork(client) else {
                return PoolDecision(records: s.constant[...], slots: s.constantSlots[...], fallback: fallback)
            }
            let keyPrefix = min(c.prefix, c.address.family == 4 ? PoolRuntime.hashPrefixV4 : PoolRuntime.hashPrefixV6)
            let k = c.address.masked(keyPrefix)
            let key = mix64(k.hi ^ mix64(k.lo ^ UInt64(k.family)))
            if s.answers == 1 || s.records.count == 1 {
                var best = 0
                var bestScore: UInt64 = 0
                for i in 0..<s.seeds.count {
                    let score = mix64(s.seeds[i] ^ key)
                    if i == 0 || score > bestScore { best = i; bestScore = score }
                }
                return PoolDecision(records: s.records[best...best], slots: s.slots[best...best], scope: keyPrefix, fallback: fallback)
            }
            let ranked = s.seeds.indices.sorted { mix64(s.seeds[$0] ^ key) > mix64(s.seeds[$1] ^ key) }.prefix(s.answers)
            return PoolDecision(records: ranked.map { s.records[$0] }[...], slots: ranked.map { s.slots[$0] }[...], scope: keyPrefix,
                                fallback: fallback)
        }
    }

    /// closest from a GeoIP record's coordinates: the `answers` members nearest to `origin` (members whose
    /// site has no location after the others), ties in base order. One address: no allocation.
    static func nearest(_ s: Selector, to origin: GeoPoint, scope: Int, fallback: Bool) -> PoolDecision {
        if s.answers == 1 || s.located.count == 1 {
            var best = 0
            var bestKm = Double.infinity
            for i in s.located.indices {
                guard let l = s.located[i] else { continue }
                let km = greatCircleKm(origin, l)
                if km < bestKm { best = i; bestKm = km }
            }
            return PoolDecision(records: s.locatedRecords[best...best], slots: s.locatedSlots[best...best], scope: scope, fallback: fallback)
        }
        let order = s.located.indices.sorted { a, b in
            let da = s.located[a].map { greatCircleKm(origin, $0) } ?? .infinity
            let db = s.located[b].map { greatCircleKm(origin, $0) } ?? .infinity
            return da != db ? da < db : a < b
        }.prefix(s.answers)
        return PoolDecision(records: order.map { s.locatedRecords[$0] }[...], slots: order.map { s.locatedSlots[$0] }[...], scope: scope,
                            fallback: fallback)
    }

    @inline(__always)
    static func pick(_ cumulative: [UInt64], _ r: UInt64) -> Int {
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if r < cumulative[mid] { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    static func weightedSample(_ s: Selector, rng: inout some RandomSource) -> (ArraySlice<EncodedRecord>, ArraySlice<Int32>) {
        var weights: [UInt64] = []
        var prev: UInt64 = 0
        for c in s.cumulative { weights.append(c - prev); prev = c }
        var out: [EncodedRecord] = []
        var slots: [Int32] = []
        var remaining = weights.reduce(0, +)
        while out.count < s.answers && remaining > 0 {
            var r = rng.below(remaining)
            for i in weights.indices where weights[i] > 0 {
                if r < weights[i] {
                    out.append(s.records[i])
                    slots.append(s.slots[i])
                    remaining -= weights[i]
                    weights[i] = 0
                    break
                }
                r -= weights[i]
            }
        }
        return (out[...], slots[...])
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
                             sites: [String: Site], topology: TopologyTable, useWeights: Bool) -> Selector {
        // One CNAME per name (RFC 2181 §10.1): a CNAME pool answers one target whatever `answers` says.
        let n = pool.isCNAME ? 1 : max(1, pool.answers)
        let base = baseOrder(members, set)
        var constant: [Int]
        switch pool.policy {
        case .failover:
            let top = base.first.map { members[$0].member.priority }
            constant = Array(base.filter { members[$0].member.priority == top }.prefix(n))
        case .leastLoaded:
            constant = Array(base.enumerated().sorted { a, b in
                let la = loadRatio(members[a.element]), lb = loadRatio(members[b.element])
                return la != lb ? la < lb : a.offset < b.offset
            }.map(\.element).prefix(n))
        default:
            constant = Array(base.prefix(n))
        }
        let entryOrders = pool.policy == .closest ? closestOrders(members: members, set: set, sites: sites, topology: topology).0 : []
        var cumulative: [UInt64] = []
        var sum: UInt64 = 0
        for i in set {
            sum += UInt64(useWeights ? max(0, members[i].member.weight) : max(1, members[i].member.weight))
            cumulative.append(sum)
        }
        let twice = base + base
        let located = pool.policy == .closest && topology.geo != nil ? base : []
        return Selector(
            policy: pool.policy, answers: n,
            records: set.map { records[$0] },
            slots: set.map { slots[$0] },
            cumulative: cumulative,
            constant: constant.map { records[$0] },
            constantSlots: constant.map { slots[$0] },
            rotations: twice.map { records[$0] },
            rotationSlots: twice.map { slots[$0] },
            members: set,
            byEntry: entryOrders.map { Array($0.prefix(n)).map { records[$0] } },
            byEntrySlots: entryOrders.map { Array($0.prefix(n)).map { slots[$0] } },
            seeds: set.map { pool.isCNAME ? fnv1a(records[$0].rdata) : fnv1a(members[$0].address.bytes) },
            located: located.map { members[$0].site?.location },
            locatedRecords: located.map { records[$0] },
            locatedSlots: located.map { slots[$0] })
    }
}
