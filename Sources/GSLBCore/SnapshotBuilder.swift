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
        build(index: try buildIndex(zones: input), gslb: gslb, now: now, generation: generation)
    }

    /// Indexes `zones` alone (no pools): what snapshots share until the zone files change.
    public func buildIndex(zones input: [ZoneContent]) throws -> ZoneIndex {
        // Parents before children, so a child's apex replaces the parent's delegation node in the index.
        let ordered = input.sorted { $0.origin.labelCount < $1.origin.labelCount }
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
        return ZoneIndex(zones: served, nodes: index)
    }

    /// Builds the snapshot of the zones of `index` with the GSLB pools of `gslb`: only the GSLB
    /// layer (pool names, pools, topology) is built; the index and its nodes are shared, not copied.
    /// Pools that collide with static data or sit below a cut are left out and reported, as by a
    /// build from the zones.
    public func build(index zoneIndex: ZoneIndex, gslb: GSLBState = GSLBState(), now: Double = 0,
                      generation: UInt64 = 0) -> ServingSnapshot {
        let zones = zoneIndex.zones
        let index = zoneIndex.nodes
        var issues: [String] = []
        // Pools by the zone that holds their name (the deepest served zone).
        var poolNames: [Int: [(Int, DomainName)]] = [:]
        for (pi, p) in gslb.config.pools.enumerated() {
            guard let n = try? DomainName(p.name.hasSuffix(".") ? p.name : p.name + ".") else {
                issues.append("pool \(p.name): not a valid name"); continue
            }
            guard let zi = zones.indices.filter({ n.isSubdomain(of: zones[$0].origin) })
                .max(by: { zones[$0].origin.labelCount < zones[$1].origin.labelCount }) else {
                issues.append("pool \(p.name): not inside a served zone"); continue
            }
            poolNames[zi, default: []].append((pi, n))
        }
        // What a pool's name has in the zone data: the node there, else the closest node above
        // it (whose cut and DNAME links hold for the name too: it adds no records).
        struct Place { var name: DomainName; var zone: Int; var node: ZoneNode?; var above: ZoneNode? }
        func place(_ n: DomainName, zone zi: Int) -> Place {
            if let s = index[NameKey(n.key[...])], s.zone == zi { return Place(name: n, zone: zi, node: s, above: nil) }
            var x = n
            while x != zones[zi].origin {
                x = x.parent
                if let a = index[NameKey(x.key[...])], a.zone == zi { return Place(name: n, zone: zi, node: nil, above: a) }
            }
            return Place(name: n, zone: zi, node: nil, above: nil)
        }
        // Place pools: one slot per name that has any, skipping conflicts.
        var placements: [Int: Int] = [:]
        var slotOfName: [NameKey: Int] = [:]
        var slotTypes: [[RecordType]] = []
        var slotPlaces: [Place] = []
        for zi in zones.indices {
            for (pi, n) in poolNames[zi] ?? [] {
                let p = gslb.config.pools[pi]
                let pl = place(n, zone: zi)
                if let s = pl.node, s.rrset(p.recordType) != nil || s.rrset(.cname) != nil {
                    issues.append("pool \(p.name) \(p.type): conflicts with static data at that name; left out")
                    continue
                }
                let occluded: Bool
                if let s = pl.node {
                    occluded = s.cut != nil || s.dnameAbove != nil
                } else if let a = pl.above {
                    occluded = a.cut != nil || a.dnameAbove != nil || a.rrset(.dname) != nil
                } else {
                    occluded = false
                }
                if occluded {
                    issues.append("pool \(p.name) \(p.type): below a delegation or DNAME; left out")
                    continue
                }
                let key = NameKey(n.key[...])
                let slot = slotOfName[key] ?? {
                    let s = slotTypes.count
                    slotTypes.append([])
                    slotPlaces.append(pl)
                    slotOfName[key] = s
                    return s
                }()
                if slotTypes[slot].contains(p.recordType) {
                    issues.append("pool \(p.name) \(p.type): defined twice; second left out")
                    continue
                }
                slotTypes[slot].append(p.recordType)
                placements[pi] = slot
            }
        }
        // The GSLB layer's nodes: a copy of the zone's node where the name has static data, else a
        // new node with the empty non-terminals the zone lacks between it and the closest name above.
        var layer: [NameKey: ZoneNode] = [:]
        var newNames = 0
        for (slot, pl) in slotPlaces.enumerated() {
            let key = NameKey(pl.name.key[...])
            if let s = pl.node {
                layer[key] = ZoneNode(shadowing: s, poolSlot: slot)
                continue
            }
            let node = ZoneNode(name: pl.name, zone: pl.zone)
            node.poolSlot = slot
            if let old = layer[key] { node.wildcard = old.wildcard }   // an empty non-terminal of another pool
            else { newNames += 1 }
            layer[key] = node
            var x = pl.name
            while x != zones[pl.zone].origin {
                x = x.parent
                let k = NameKey(x.key[...])
                if layer[k] != nil || index[k].map({ $0.zone == pl.zone }) == true { break }
                layer[k] = ZoneNode(name: x, zone: pl.zone)
                newNames += 1
            }
        }
        // Wildcard links among the layer's names: a `*` name of the layer is its parent's wildcard
        // (the parent is copied into the layer when it is the zone's node). `parseServiceName`
        // refuses such pool names; a store written otherwise still gets the answers a build from
        // the zones would give.
        for node in Array(layer.values) where node.name.isWildcard {
            let parentKey = NameKey(node.name.parent.key[...])
            if let p = layer[parentKey] {
                p.wildcard = node
            } else if let s = index[parentKey] {
                let copy = ZoneNode(shadowing: s, poolSlot: s.poolSlot)
                copy.wildcard = node
                layer[parentKey] = copy
            }
        }
        let topology = TopologyTable(gslb.config.topology)
        let layout = TallyLayout(config: gslb.config)
        let (runtimes, slots) = buildPools(gslb: gslb, now: now, topology: topology, placements: placements,
                                           slotCount: slotTypes.count, reuse: [:], layout: layout, issues: &issues)
        return ServingSnapshot(zoneIndex: zoneIndex, gslbNodes: layer, gslbNewNames: newNames, generation: generation,
                               pools: runtimes, poolSlots: slots, placements: placements, topology: topology, gslb: gslb,
                               issues: issues, tallyLayout: layout)
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
        return ServingSnapshot(zoneIndex: old.zoneIndex, gslbNodes: old.gslbNodes, gslbNewNames: old.gslbNewNames,
                               generation: generation, pools: runtimes, poolSlots: slots, placements: old.placements,
                               topology: old.topology, gslb: gslb, issues: old.issues, tallyLayout: old.tallyLayout,
                               tsigKeys: gslb.tsigKeys == old.gslb.tsigKeys ? old.tsigKeys : nil,
                               signers: gslb.dnssecKeys == old.gslb.dnssecKeys ? old.signers : nil)
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
