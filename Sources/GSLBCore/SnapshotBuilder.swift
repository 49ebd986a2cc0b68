import DNSWire

/// Builds a `ServingSnapshot` from zone contents: every name indexed, empty
/// non-terminals created, zone cuts, DNAMEs, wildcards and glue linked, records
/// pre-encoded. All the work the query path must not do.
public struct SnapshotBuilder {
    public init() {}

    public enum BuildError: Error, CustomStringConvertible {
        case duplicateZone(DomainName)
        case noSOA(DomainName)

        public var description: String {
            switch self {
            case .duplicateZone(let n): return "zone \(n) is served twice"
            case .noSOA(let n): return "zone \(n) has no SOA at its apex"
            }
        }
    }

    /// Builds the snapshot of `zones` with the GSLB pools of `gslb` (health and
    /// overrides as of `now`, seconds since the epoch).
    public func build(zones input: [ZoneContent], gslb: GSLBState = GSLBState(), now: Double = 0,
                      generation: UInt64 = 0) throws -> ServingSnapshot {
        // Parents before children, so a child's apex replaces the parent's delegation node in the index.
        let ordered = input.sorted { $0.origin.labelCount < $1.origin.labelCount }
        var issues: [String] = []
        // Pools by the zone that holds their name (the deepest served zone).
        var poolNames: [Int: [(Int, DomainName)]] = [:]
        for (pi, p) in gslb.config.pools.enumerated() {
            guard let n = try? DomainName(p.name.hasSuffix(".") ? p.name : p.name + ".") else {
                issues.append("pool \(p.name): not a valid name"); continue
            }
            guard let zi = ordered.indices.filter({ n.isSubdomain(of: ordered[$0].origin) })
                .max(by: { ordered[$0].origin.labelCount < ordered[$1].origin.labelCount }) else {
                issues.append("pool \(p.name): not inside a served zone"); continue
            }
            poolNames[zi, default: []].append((pi, n))
        }
        var poolNodes: [(Int, ZoneNode)] = []
        var seen = Set<DomainName>()
        var index: [NameKey: ZoneNode] = [:]
        var served: [ServedZone] = []

        for (zi, zc) in ordered.enumerated() {
            guard seen.insert(zc.origin).inserted else { throw BuildError.duplicateZone(zc.origin) }
            var nodes: [ArraySlice<UInt8>: ZoneNode] = [:]
            var order: [ArraySlice<UInt8>] = []
            func nodeFor(_ name: DomainName) -> ZoneNode {
                if let n = nodes[name.key[...]] { return n }
                let n = ZoneNode(name: name, zone: zi)
                nodes[name.key[...]] = n
                order.append(name.key[...])
                return n
            }
            let apex = nodeFor(zc.origin)
            for (pi, n) in poolNames[zi] ?? [] {
                var x = n
                poolNodes.append((pi, nodeFor(x)))
                while x != zc.origin { x = x.parent; _ = nodeFor(x) }
            }
            // Group records into RRsets per node, keeping file order; drop exact duplicates.
            var sets: [ArraySlice<UInt8>: [(RecordType, [ResourceRecord])]] = [:]
            for rr in zc.records where rr.name.isSubdomain(of: zc.origin) && rr.rclass == RecordClass.in {
                var n = rr.name
                _ = nodeFor(n)
                // Empty non-terminals up to the apex.
                while n != zc.origin {
                    n = n.parent
                    _ = nodeFor(n)
                }
                var list = sets[rr.name.key[...]] ?? []
                if let i = list.firstIndex(where: { $0.0 == rr.type }) {
                    if !list[i].1.contains(where: { $0.rdata == rr.rdata }) { list[i].1.append(rr) }
                } else {
                    list.append((rr.type, [rr]))
                }
                sets[rr.name.key[...]] = list
            }
            guard let soaRR = sets[zc.origin.key[...]]?.first(where: { $0.0 == .soa })?.1.first, let soa = soaRR.soa else {
                throw BuildError.noSOA(zc.origin)
            }

            func addresses(of target: DomainName, required: Bool) -> AdditionalData? {
                guard let list = sets[target.key[...]] else { return nil }
                var recs: [EncodedRecord] = []
                for t in [RecordType.a, .aaaa] {
                    if let s = list.first(where: { $0.0 == t }) { recs += s.1.map { EncodedRecord($0) } }
                }
                guard !recs.isEmpty, let node = nodes[target.key[...]] else { return nil }
                return AdditionalData(owner: node.name, records: recs, required: required)
            }

            // Pass 1: RRsets.
            for key in order {
                let node = nodes[key]!
                guard let list = sets[key] else { continue }
                node.rrsets = list.map { (type, rrs) in
                    var extra: [AdditionalData] = []
                    if type == .ns {
                        for rr in rrs {
                            guard let t = rr.target, t.isSubdomain(of: zc.origin) else { continue }
                            let inDomain = node !== apex && t.isSubdomain(of: node.name)
                            if let a = addresses(of: t, required: inDomain) { extra.append(a) }
                        }
                    }
                    return RRSet(type: type, records: rrs.map { EncodedRecord($0) }, additional: extra)
                }
            }
            // Pass 2: links from the apex down (parents are created before children in `order`? not
            // guaranteed), so walk ancestors explicitly.
            for key in order {
                let node = nodes[key]!
                var chain: [ZoneNode] = []
                var n = node.name
                while true {
                    chain.append(nodes[n.key[...]]!)
                    if n == zc.origin { break }
                    n = n.parent
                }
                // chain: node ... apex. Walk from the apex down.
                var cut: ZoneNode?
                var dname: ZoneNode?
                for (i, a) in chain.reversed().enumerated() {
                    let isSelf = i == chain.count - 1
                    if cut == nil && a !== apex && a.rrset(.ns) != nil { cut = a }
                    if !isSelf && dname == nil && a.rrset(.dname) != nil { dname = a }
                }
                node.cut = cut
                node.dnameAbove = dname
                if let w = try? node.name.prepending(label: [UInt8(ascii: "*")]) {
                    node.wildcard = nodes[w.key[...]]
                }
            }
            // A served child zone owns everything at and below its apex.
            if zi > 0 {
                for k in index.keys where DomainName(uncheckedWire: Array(k.bytes)).isSubdomain(of: zc.origin) && k.bytes != zc.origin.key[...] {
                    index[k] = nil
                }
            }
            for (k, v) in nodes {
                let key = NameKey(k)
                if let existing = index[key] {
                    // A child zone's apex where the parent has its delegation.
                    v.parentSide = existing
                }
                index[key] = v
            }
            served.append(ServedZone(origin: apex.name, source: zc.source, serial: soa.serial, apex: apex,
                                     negativeSOA: EncodedRecord(soaRR).withTTL(min(soaRR.ttl, soa.minimum))))
        }
        let topology = TopologyTable(gslb.config.topology)
        // Place pools: one slot per node that has any, skipping conflicts.
        var placements: [Int: Int] = [:]
        var slotOfNode: [ObjectIdentifier: Int] = [:]
        var slotTypes: [[RecordType]] = []
        for (pi, node) in poolNodes {
            let p = gslb.config.pools[pi]
            if node.rrset(p.recordType) != nil || node.rrset(.cname) != nil {
                issues.append("pool \(p.name) \(p.type): conflicts with static data at that name; left out")
                continue
            }
            if node.cut != nil || node.dnameAbove != nil {
                issues.append("pool \(p.name) \(p.type): below a delegation or DNAME; left out")
                continue
            }
            let slot = slotOfNode[ObjectIdentifier(node)] ?? {
                let s = slotTypes.count
                slotTypes.append([])
                slotOfNode[ObjectIdentifier(node)] = s
                node.poolSlot = s
                return s
            }()
            if slotTypes[slot].contains(p.recordType) {
                issues.append("pool \(p.name) \(p.type): defined twice; second left out")
                continue
            }
            slotTypes[slot].append(p.recordType)
            placements[pi] = slot
        }
        let layout = TallyLayout(config: gslb.config)
        let (runtimes, slots) = buildPools(gslb: gslb, now: now, topology: topology, placements: placements,
                                           slotCount: slotTypes.count, reuse: [:], layout: layout, issues: &issues)
        return ServingSnapshot(zones: served, index: index, generation: generation, pools: runtimes, poolSlots: slots,
                               placements: placements, topology: topology, gslb: gslb, issues: issues, tallyLayout: layout)
    }

    /// A snapshot like `old` with new health and overrides: the zone index is shared,
    /// and only the pools whose members' state changed are rebuilt (plus pools that fall
    /// back to them). Falls back to nothing: the config must be the same as `old`'s.
    public func rebuildingPools(of old: ServingSnapshot, gslb: GSLBState, now: Double, generation: UInt64) -> ServingSnapshot? {
        guard gslb.config == old.gslb.config else { return nil }
        var affected = Set<String>()
        if gslb.overrides != old.gslb.overrides {
            affected = Set(gslb.config.pools.map(\.name))
        } else {
            var before: [MemberKey: MemberHealth] = [:]
            for h in old.gslb.health { before[h.key] = h }
            var seen = Set<MemberKey>()
            for h in gslb.health {
                seen.insert(h.key)
                if before[h.key] != h { affected.insert(h.key.pool) }
            }
            for k in before.keys where !seen.contains(k) { affected.insert(k.pool) }
        }
        // Pools falling back to an affected pool hold a reference to it: rebuild them too.
        var grew = true
        while grew {
            grew = false
            for p in gslb.config.pools where !affected.contains(p.name) {
                if case .pool(let other) = p.fallback, affected.contains(other.hasSuffix(".") ? other : other + ".") {
                    affected.insert(p.name)
                    grew = true
                }
            }
        }
        var reuse: [Int: PoolRuntime] = [:]
        for (pi, slot) in old.placements where !affected.contains(gslb.config.pools[pi].name) {
            if let r = old.poolSlots[slot].first(where: { $0.type == gslb.config.pools[pi].recordType }) { reuse[pi] = r }
        }
        // Issues depend on the config only, which is unchanged: the full build's list stands.
        var unchanged: [String] = []
        // Same config, same layout: workers' pool counters carry over.
        let (runtimes, slots) = buildPools(gslb: gslb, now: now, topology: old.topology, placements: old.placements,
                                           slotCount: old.poolSlots.count, reuse: reuse, layout: old.tallyLayout,
                                           issues: &unchanged)
        return ServingSnapshot(zones: old.zones, index: old.index, generation: generation, pools: runtimes, poolSlots: slots,
                               placements: old.placements, topology: old.topology, gslb: gslb, issues: old.issues,
                               tallyLayout: old.tallyLayout)
    }

    /// Builds the placed pools (fallback targets first), reusing the runtimes in `reuse`.
    func buildPools(gslb: GSLBState, now: Double, topology: TopologyTable, placements: [Int: Int], slotCount: Int,
                    reuse: [Int: PoolRuntime], layout: TallyLayout, issues: inout [String]) -> ([PoolRuntime], [[PoolRuntime]]) {
        let pools = gslb.config.pools
        var sites: [String: Site] = [:]
        for s in gslb.config.sites { sites[s.name] = s }
        var health: [MemberKey: MemberHealth] = [:]
        for h in gslb.health { health[h.key] = h }
        let active = gslb.overrides.filter { $0.isActive(at: now) }
        var built: [Int: PoolRuntime] = reuse

        func forced(_ p: Pool, _ m: Member) -> (ForcedState, String)? {
            let memberTarget = "\(p.name)/\(m.address)"
            if let o = active.last(where: { $0.scope == .member && $0.target == memberTarget }) { return (o.state, "member:\(memberTarget)") }
            if let o = active.last(where: { $0.scope == .pool && $0.target == p.name }) { return (o.state, "pool:\(p.name)") }
            if let o = active.last(where: { $0.scope == .site && $0.target == m.site }) { return (o.state, "site:\(m.site)") }
            return nil
        }

        func make(_ pi: Int, depth: Int) -> PoolRuntime? {
            if let r = built[pi] { return r }
            guard depth < 8, placements[pi] != nil else { return nil }
            let p = pools[pi]
            var fb: PoolRuntime?
            if case .pool(let other) = p.fallback {
                let on = other.hasSuffix(".") ? other : other + "."
                if let oi = pools.indices.first(where: { pools[$0].name == on && pools[$0].type == p.type && $0 != pi }) {
                    fb = make(oi, depth: depth + 1)
                }
            }
            var memberSlots: [Int32] = []
            let views: [MemberView] = p.members.enumerated().compactMap { j, m in
                guard let addr = ClientAddress(text: m.address), (addr.family == 4) == (p.recordType == .a) else {
                    issues.append("pool \(p.name): member \(m.address) is not an address of type \(p.type)")
                    return nil
                }
                memberSlots.append(layout.memberSlot(pool: pi, member: j))
                let h = health[MemberKey(pool: p.name, address: m.address)]
                let real = h?.state ?? .unknown
                let f = forced(p, m)
                var reason: String?
                if m.state != .enabled { reason = "admin state \(m.state.rawValue)" }
                else if m.weight <= 0 { reason = "weight 0 (fallback only)" }
                else if let f, f.0 != .up { reason = "forced \(f.0.rawValue) by \(f.1)" }
                else if f == nil && real == .down { reason = "down" }
                return MemberView(member: m, address: addr, site: sites[m.site], real: real, realStale: h?.stale ?? false,
                                  load: h?.load ?? m.load,
                                  forced: f?.0, forcedBy: f?.1, eligible: reason == nil, reason: reason)
            }
            let r = PoolRuntime(pool: p, name: (try? DomainName(p.name.hasSuffix(".") ? p.name : p.name + ".")) ?? .root, members: views, sites: sites, topology: topology, fallbackPool: fb,
                                memberSlots: memberSlots, fallbackSlot: layout.fallbackSlot(pool: pi, memberCount: p.members.count))
            built[pi] = r
            return r
        }

        var out: [PoolRuntime] = []
        var slots = [[PoolRuntime]](repeating: [], count: slotCount)
        for pi in placements.keys.sorted() {
            guard let r = make(pi, depth: 0), let slot = placements[pi] else { continue }
            slots[slot].append(r)
            out.append(r)
        }
        return (out, slots)
    }
}
