import DNSWire

/// Builds a `ServingSnapshot` from zone contents: every name indexed, empty
/// non-terminals created, zone cuts, DNAMEs, wildcards and glue linked, records
/// pre-encoded. All the work the query path must not do.
public struct SnapshotBuilder {
    /// Called once a zone's parsed records are dropped, before the rest of its index is made: the daemon hands the
    /// freed memory back to the system there (GSLBCore does no I/O and knows no allocator), so that what the
    /// build took from the index it replaces is not resident twice until the reload ends.
    let recordsDropped: () -> Void

    public init(recordsDropped: @escaping () -> Void = {}) { self.recordsDropped = recordsDropped }

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

    /// Indexes `zones` alone (no pools): what snapshots share until the zone files change. With `old` and `keep`,
    /// takes the zones of `keep` from `old` as they are (their nodes are shared, not
    /// rebuilt): a reload that changed one zone among several indexes that one alone. A kept zone must not
    /// be above or below an indexed one (a child zone's apex links to its parent's delegation, set when
    /// the two are merged): `reindexNeeded` says when the caller must pass both as contents.
    /// The zones' records are consumed: each zone's are dropped as soon as they are encoded, so that a caller
    /// that hands over the only reference does not hold them while the rest of the index is made.
    public func buildIndex(zones input: consuming [ZoneContent], reusing old: ZoneIndex = .empty, keep: Set<DomainName> = []) throws -> ZoneIndex {
        try Self.check(zones: input, reusing: old, keep: keep)
        enum Source { case content(Int), kept(ServedZone, [ZoneNode]) }
        var sources = input.indices.map { (origin: input[$0].origin, source: Source.content($0)) }
        for (zi, z) in old.zones.enumerated() where keep.contains(z.origin) {
            sources.append((z.origin, .kept(z, old.zoneNodes[zi])))
        }
        // Parents before children, so a child's apex replaces the parent's delegation node in the index.
        sources.sort { $0.origin.labelCount < $1.origin.labelCount }
        var served: [ServedZone] = []
        var zoneNodes: [[ZoneNode]] = []
        var built: [Bool] = []
        for (_, source) in sources {
            switch source {
            case .content(let i):
                let (nodes, zone) = try indexZone(&input[i], previous: old)
                served.append(zone)
                zoneNodes.append(nodes)
                built.append(true)
            case .kept(let zone, let nodes):
                served.append(zone)
                zoneNodes.append(nodes)
                built.append(false)
            }
        }
        var index = NameTable(minimumCapacity: zoneNodes.reduce(0) { $0 + $1.count })
        for (zi, zone) in served.enumerated() {
            // A served child zone owns everything at and below its apex.
            if served[..<zi].contains(where: { zone.origin.isSubdomain(of: $0.origin) }) {
                let apexKey = zone.origin.key
                index.removeAll { Self.isStrictlyBelow($0, apexKey) }
            }
            for v in zoneNodes[zi] {
                if let existing = index.updateValue(v), built[zi] {
                    // A child zone's apex where the parent has its delegation. Only nodes built now are
                    // linked: a kept zone's nodes are served by the current snapshot and never change.
                    v.parentSide = existing
                }
            }
        }
        return ZoneIndex(zones: served, nodes: index, zoneNodes: zoneNodes)
    }

    /// Throws what `buildIndex` would for these zones, before anything is indexed: a zone served twice (given
    /// twice, or given and kept), or one without an SOA at its apex. `buildIndex` checks this first; a caller
    /// that checks it too can hand its zones over knowing the build will not fail.
    public static func check(zones input: [ZoneContent], reusing old: ZoneIndex, keep: Set<DomainName>) throws {
        var seen = Set<DomainName>()
        for origin in input.map(\.origin) + old.zones.map(\.origin).filter(keep.contains) {
            guard seen.insert(origin).inserted else { throw BuildError.duplicateZone(origin) }
        }
        for zc in input where zc.records.first(where: { isApexSOA($0, zc.origin.key) })?.soa == nil {
            throw BuildError.noSOA(zc.origin)
        }
    }

    /// Whether changing the zones `changed` needs the zones `kept` re-indexed too (one is above or below the
    /// other: a child's apex is linked to its parent's delegation node).
    public static func reindexNeeded(changed: some Collection<DomainName>, kept: some Collection<DomainName>) -> Bool {
        changed.contains { c in kept.contains { k in c.isSubdomain(of: k) || k.isSubdomain(of: c) } }
    }

    /// True when the lower-cased wire name `key` lies strictly below `apex` (also lower-cased wire form).
    static func isStrictlyBelow(_ key: ArraySlice<UInt8>, _ apex: [UInt8]) -> Bool {
        guard key.count > apex.count else { return false }
        var i = key.startIndex
        while key.endIndex - i > apex.count { i += Int(key[i]) + 1 }
        return key.endIndex - i == apex.count && key[i...].elementsEqual(apex)
    }

    /// Indexes one zone: its nodes (empty non-terminals included, the apex first), RRsets in
    /// file order of their first record (exact duplicates dropped), every record encoded into one array
    /// that the RRsets slice, glue, and the cut, DNAME and wildcard links. Names are compared and hashed
    /// as the records' own key bytes: nothing is allocated per record beyond its encoded form.
    /// A reload's peak holds the zone being replaced, so every megabyte the build holds at once adds to it
    /// (docs/benchmarks.md): the name table is dropped once every name is numbered (NS targets looked up then),
    /// the zone's records once encoded, and no table is kept per RRset (an RRset is a run of one type in its
    /// node's encoded records).
    ///
    /// When `previous` serves the same zone, a name and a record (type, TTL, RDATA) it has already are taken from
    /// it, not kept as parsed: a reload holds two copies of what changed only, and its peak stays below the zone
    /// served plus the zone built.
    func indexZone(_ zc: inout ZoneContent, previous: ZoneIndex = .empty) throws -> ([ZoneNode], ServedZone) {
        let origin = zc.origin, originKey = origin.key
        let previousHead = previous.zones.first { $0.origin == origin }?.head
        /// Each node's node in `previous`, when it serves this zone (same order as `nodes`; empty when it does not).
        var prior: [ZoneNode?] = []
        guard let soaRR = zc.records.first(where: { Self.isApexSOA($0, originKey) }), let soa = soaRR.soa else {
            throw BuildError.noSOA(origin)
        }
        let zoneHead = ZoneHead(origin: origin, negativeSOA: EncodedRecord(soaRR).withTTL(min(soaRR.ttl, soa.minimum)))
        // Nodes by name, each with its parent's number.
        // Most zones have about two records per name: sized for that, the table is not rehashed as it fills.
        var names = NameTable(minimumCapacity: zc.records.count / 2)
        var nodes: [ZoneNode] = []
        var parent: [Int32] = []
        // Every record encoded, node by node, RRset by RRset: node `n`'s are `encoded[nodeStart[n]..<nodeStart[n + 1]]`.
        var encoded: [EncodedRecord] = []
        var nodeStart: [Int32] = []
        var setCount = 0
        var nsTargets: [[UInt8]: Int] = [:]
        do {
            let records = zc.records
            // Each node's records: a list threaded through `next`.
            var head: [Int32] = [], tail: [Int32] = []
            var next = [Int32](repeating: -1, count: records.count)
            /// The node of `key`, made (for `name()`, its name) when the zone has none yet: (its number, made?).
            func node(_ key: ArraySlice<UInt8>, _ name: () -> DomainName) -> (Int32, Bool) {
                let (n, made) = names.position(of: key) {
                    guard let previousHead else { return ZoneNode(name: name(), zone: zoneHead) }
                    let p = previous.nodes[NameKey(key)].flatMap { $0.zone === previousHead ? $0 : nil }
                    let parsed = name()
                    prior.append(p)
                    return ZoneNode(name: p.map { $0.name.wire == parsed.wire ? $0.name : parsed } ?? parsed, zone: zoneHead)
                }
                if made {
                    parent.append(-1)
                    head.append(-1)
                    tail.append(-1)
                }
                return (Int32(n), made)
            }
            _ = node(originKey[...]) { origin }
            var lastKey: [UInt8] = []
            var lastNode: Int32 = -1
            for i in records.indices {
                let rr = records[i]
                guard rr.rclass == RecordClass.in else { continue }
                let key = rr.name.key
                let n: Int32
                if lastNode >= 0 && key == lastKey {
                    n = lastNode
                } else {
                    guard rr.name.isSubdomain(of: origin) else { continue }
                    let made: Bool
                    (n, made) = node(key[...]) { rr.name }
                    if made {
                        // The names up to the apex (empty non-terminals where they have no records).
                        var child = n
                        var k = key[...]
                        while k.count > originKey.count {
                            k = k[(k.startIndex + Int(k[k.startIndex]) + 1)...]
                            let (p, new) = node(k) { DomainName(uncheckedWire: Array(rr.name.wire[k.startIndex...])) }
                            parent[Int(child)] = p
                            if !new { break }
                            child = p
                        }
                    }
                    lastKey = key
                    lastNode = n
                }
                if tail[Int(n)] < 0 { head[Int(n)] = Int32(i) } else { next[Int(tail[Int(n)])] = Int32(i) }
                tail[Int(n)] = Int32(i)
            }
            tail = []
            // The nodes of NS records' in-zone targets (for glue), found now: the name table goes before encoding.
            for rr in records where rr.type == .ns && rr.rclass == RecordClass.in {
                guard let t = rr.target, t.isSubdomain(of: origin), nsTargets[t.key] == nil else { continue }
                if let a = names.position(of: t.key[...]) { nsTargets[t.key] = a }
            }
            nodes = names.nodes
            names = NameTable()

            // RRsets: per node, one per type in order of its first record, exact duplicates dropped.
            encoded.reserveCapacity(records.count)
            nodeStart.reserveCapacity(nodes.count + 1)
            var own: [Int32] = []
            var types: [RecordType] = []
            var seenData = Set<[UInt8]>()
            for n in nodes.indices {
                own.removeAll(keepingCapacity: true)
                types.removeAll(keepingCapacity: true)
                var r = head[n]
                while r >= 0 {
                    own.append(r)
                    if !types.contains(records[Int(r)].type) { types.append(records[Int(r)].type) }
                    r = next[Int(r)]
                }
                nodeStart.append(Int32(encoded.count))
                setCount += types.count
                for t in types {
                    let start = encoded.count
                    seenData.removeAll(keepingCapacity: true)
                    let before = prior.isEmpty ? nil : prior[n]?.rrset(t)?.records
                    for r in own where records[Int(r)].type == t {
                        let rr = records[Int(r)]
                        let duplicate: Bool
                        if encoded.count - start < 16 {
                            duplicate = encoded[start...].contains { $0.rdata == rr.rdata }
                        } else {
                            if seenData.isEmpty { for e in encoded[start...] { seenData.insert(e.rdata) } }
                            duplicate = !seenData.insert(rr.rdata).inserted
                        }
                        if duplicate { continue }
                        // The previous index's record when it has this one: at the same place in its RRset, or (in
                        // an RRset of up to 16) anywhere in it.
                        if let before {
                            let k = before.startIndex + encoded.count - start
                            let same = { (e: EncodedRecord) in e.ttl == rr.ttl && e.rclass == rr.rclass && e.rdata == rr.rdata }
                            if k < before.endIndex, same(before[k]) { encoded.append(before[k]); continue }
                            if before.count <= 16, let e = before.first(where: same) { encoded.append(e); continue }
                        }
                        encoded.append(EncodedRecord(rr))
                    }
                }
            }
            nodeStart.append(Int32(encoded.count))
        }
        // Encoded (the records' data is shared, not copied): the parsed records go.
        zc.records = []
        prior = []
        recordsDropped()
        func records(ofNode n: Int) -> ArraySlice<EncodedRecord> { encoded[Int(nodeStart[n])..<Int(nodeStart[n + 1])] }

        // Each NS set's additional data (the addresses of its targets, A then AAAA).
        var glue: [Int: [AdditionalData]] = [:]
        for n in nodes.indices {
            var extra: [AdditionalData] = []
            for e in records(ofNode: n) where e.type == .ns {
                // nsTargets holds in-zone targets only.
                guard let t = ResourceRecord(name: nodes[n].name, type: .ns, ttl: e.ttl, rdata: e.rdata).target,
                      let a = nsTargets[t.key] else { continue }
                let inDomain = n != 0 && t.isSubdomain(of: nodes[n].name)
                let addresses = records(ofNode: a).filter { $0.type == .a } + records(ofNode: a).filter { $0.type == .aaaa }
                if !addresses.isEmpty { extra.append(AdditionalData(owner: nodes[a].name, records: addresses, required: inDomain)) }
            }
            if !extra.isEmpty { glue[n] = extra }
        }
        nsTargets = [:]

        // The RRsets (runs of one type in each node's records), then each node's slice of them: `nodeStart` is
        // reused for where each node's RRsets start.
        var sets: [RRSet] = []
        sets.reserveCapacity(setCount)
        for n in nodes.indices {
            let recs = records(ofNode: n)
            nodeStart[n] = Int32(sets.count)
            var i = recs.startIndex
            while i < recs.endIndex {
                let t = recs[i].type
                var j = i + 1
                while j < recs.endIndex && recs[j].type == t { j += 1 }
                sets.append(RRSet(type: t, records: recs[i..<j], additional: t == .ns ? glue[n] ?? [] : []))
                i = j
            }
        }
        nodeStart[nodes.count] = Int32(sets.count)
        for n in nodes.indices { nodes[n].rrsets = sets[Int(nodeStart[n])..<Int(nodeStart[n + 1])] }
        nodeStart = []

        // Links, parents before children: the highest cut at or above each node (not the apex), the highest
        // DNAME strictly above it, and each `*` node as its parent's wildcard. Each node's unlinked ancestors
        // are linked first, top down.
        var linked = [Bool](repeating: false, count: nodes.count)
        var chain: [Int32] = []
        for first in nodes.indices where !linked[first] {
            var n = Int32(first)
            while n >= 0 && !linked[Int(n)] {
                chain.append(n)
                n = parent[Int(n)]
            }
            while let n = chain.popLast() {
                linked[Int(n)] = true
                let p = parent[Int(n)]
                guard p >= 0 else { continue }   // the apex: no cut, no DNAME above
                let node = nodes[Int(n)], up = nodes[Int(p)]
                node.cut = up.cut ?? (node.rrset(RecordType.ns) != nil ? node : nil)
                node.dnameAbove = up.dnameAbove ?? (up.rrset(RecordType.dname) != nil ? up : nil)
                if node.name.isWildcard { up.wildcard = node }
            }
        }
        return (nodes, ServedZone(head: zoneHead, source: zc.source, serial: soa.serial, apex: nodes[0]))
    }

    /// The SOA a zone is indexed with: the first record of type SOA and class IN at the apex.
    static func isApexSOA(_ rr: ResourceRecord, _ originKey: [UInt8]) -> Bool {
        rr.type == .soa && rr.rclass == RecordClass.in && rr.name.key == originKey
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
            if let s = index[NameKey(n.key[...])], s.zone === zones[zi].head { return Place(name: n, zone: zi, node: s, above: nil) }
            var x = n
            while x != zones[zi].origin {
                x = x.parent
                if let a = index[NameKey(x.key[...])], a.zone === zones[zi].head { return Place(name: n, zone: zi, node: nil, above: a) }
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
                if let s = pl.node, s.rrset(p.recordType) != nil || s.rrset(.cname) != nil || (p.isCNAME && !s.rrsets.isEmpty) {
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
                if !slotTypes[slot].isEmpty && (p.isCNAME || slotTypes[slot].contains(.cname)) {
                    issues.append("pool \(p.name) \(p.type): a CNAME pool's name has no other pool; left out")
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
            let node = ZoneNode(name: pl.name, zone: zones[pl.zone].head)
            node.poolSlot = slot
            if let old = layer[key] { node.wildcard = old.wildcard }   // an empty non-terminal of another pool
            else { newNames += 1 }
            layer[key] = node
            var x = pl.name
            while x != zones[pl.zone].origin {
                x = x.parent
                let k = NameKey(x.key[...])
                if layer[k] != nil || index[k].map({ $0.zone === zones[pl.zone].head }) == true { break }
                layer[k] = ZoneNode(name: x, zone: zones[pl.zone].head)
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
        let topology = TopologyTable(gslb.config.topology, geo: gslb.config.geoip.flatMap { g in
            gslb.geo.map { GeoTopology(database: $0.database, map: g.map) }
        })
        let layout = TallyLayout(config: gslb.config)
        let (runtimes, slotPools) = buildPools(gslb: gslb, now: now, topology: topology, placements: placements,
                                               slotCount: slotTypes.count, reuse: [:], layout: layout, issues: &issues)
        return ServingSnapshot(zoneIndex: zoneIndex, gslbNodes: NodeTable(Array(layer.values)), gslbNewNames: newNames, generation: generation,
                               pools: runtimes, slotPools: slotPools, placements: placements, topology: topology, gslb: gslb,
                               issues: issues, tallyLayout: layout)
    }

    /// A snapshot like `old` with new health and overrides, or with pools whose settings changed in place
    /// (`poolsChangedInPlace`: a member's weight, state or load, a pool's policy or TTL...): the zone index
    /// and the GSLB layer's names are shared, and only those pools and the pools whose members' state
    /// changed are rebuilt (plus pools that fall back to them). Nil when more of the config changed: the
    /// caller builds the GSLB layer whole. The last whole build's issues stand: every issue depends only on
    /// pools' names, types and members' addresses, which an in-place change keeps.
    public func rebuildingPools(of old: ServingSnapshot, gslb: GSLBState, now: Double, generation: UInt64) -> ServingSnapshot? {
        guard gslb.geo == old.gslb.geo, let changed = Self.poolsChangedInPlace(old.gslb.config, gslb.config) else { return nil }
        var affected = changed
        if gslb.overrides != old.gslb.overrides {
            affected = Set(gslb.config.pools.map(\.name))
        } else if gslb.health != old.gslb.health {
            // (Equal rows, as after a config write, need no table of every member's key.)
            let before = Dictionary(old.gslb.health.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
            var seen = Set<MemberKey>()
            for h in gslb.health {
                seen.insert(h.key)
                if before[h.key] != h { affected.insert(h.key.pool) }
            }
            for k in before.keys where !seen.contains(k) { affected.insert(k.pool) }
        }
        // Pools falling back to an affected pool hold a reference to it: rebuild them too.
        let hasCNAMEPools = gslb.config.pools.contains(where: \.isCNAME)
        var grew = true
        while grew {
            grew = false
            for p in gslb.config.pools where !affected.contains(p.name) {
                if case .pool(let other) = p.fallback, affected.contains(other.hasSuffix(".") ? other : other + ".") {
                    affected.insert(p.name)
                    grew = true
                }
            }
            // CNAME pools whose members' state comes from a target pool's (buildPools) follow it.
            if hasCNAMEPools {
                let lower = Set(affected.map { $0.lowercased() })
                for p in gslb.config.pools where p.isCNAME && !affected.contains(p.name) {
                    if p.members.contains(where: { lower.contains($0.address.lowercased()) }) {
                        affected.insert(p.name)
                        grew = true
                    }
                }
            }
        }
        var reuse: [Int: PoolRuntime] = [:]
        for (pi, slot) in old.placements where !affected.contains(gslb.config.pools[pi].name) {
            if let k = ServingSnapshot.slotPoolIndex(gslb.config.pools[pi].recordType), let r = old.slotPools[3 * slot + k] { reuse[pi] = r }
        }
        // Same pools, members and sites: same placements and counter layout (workers' pool counters carry over).
        var unchanged: [String] = []
        let (runtimes, slotPools) = buildPools(gslb: gslb, now: now, topology: old.topology, placements: old.placements,
                                               slotCount: old.slotPools.count / 3, reuse: reuse, layout: old.tallyLayout,
                                           issues: &unchanged)
        return ServingSnapshot(zoneIndex: old.zoneIndex, gslbNodes: old.gslbNodes, gslbNewNames: old.gslbNewNames,
                               generation: generation, pools: runtimes, slotPools: slotPools, placements: old.placements,
                               topology: old.topology, gslb: gslb, issues: old.issues, tallyLayout: old.tallyLayout,
                               tsigKeys: gslb.tsigKeys == old.gslb.tsigKeys ? old.tsigKeys : nil,
                               signers: gslb.dnssecKeys == old.gslb.dnssecKeys ? old.signers : nil)
    }

    /// The names of the pools whose settings differ between `old` and `new` when nothing else does: the same
    /// sites, monitors, topology and GeoIP, and the same pools in the same order (name, type) with the same
    /// members (address and site, in order: what placements and the answer counters' layout are made of).
    /// Empty when the two are equal; nil when more than that changed.
    static func poolsChangedInPlace(_ old: GSLBConfig, _ new: GSLBConfig) -> Set<String>? {
        if old == new { return [] }
        guard old.sites == new.sites, old.monitors == new.monitors, old.topology == new.topology, old.geoip == new.geoip,
              old.pools.count == new.pools.count else { return nil }
        var changed = Set<String>()
        for (a, b) in zip(old.pools, new.pools) where a != b {
            guard a.name == b.name, a.type == b.type, a.members.count == b.members.count,
                  zip(a.members, b.members).allSatisfy({ $0.address == $1.address && $0.site == $1.site }) else { return nil }
            changed.insert(b.name)
        }
        return changed
    }

    /// Builds the placed pools (fallback targets first), reusing the runtimes in `reuse`.
    func buildPools(gslb: GSLBState, now: Double, topology: TopologyTable, placements: [Int: Int], slotCount: Int,
                    reuse: [Int: PoolRuntime], layout: TallyLayout, issues: inout [String]) -> ([PoolRuntime], [PoolRuntime?]) {
        let pools = gslb.config.pools
        let sites = Dictionary(gslb.config.sites.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        let health = Dictionary(gslb.health.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
        let active = gslb.overrides.filter { $0.isActive(at: now) }
        var built: [Int: PoolRuntime] = reuse

        func forced(_ p: Pool, _ m: Member) -> (ForcedState, String, Override)? {
            let memberTarget = "\(p.name)/\(m.address)"
            if let o = active.last(where: { $0.scope == .member && $0.target == memberTarget }) { return (o.state, "member:\(memberTarget)", o) }
            if let o = active.last(where: { $0.scope == .pool && $0.target == p.name }) { return (o.state, "pool:\(p.name)", o) }
            if let o = active.last(where: { $0.scope == .site && $0.target == m.site }) { return (o.state, "site:\(m.site)", o) }
            return nil
        }

        // CNAME pools' targets that are pools of this snapshot (by lower-cased name), and the pools being built
        // (a cycle of CNAME pools stops there).
        var placedByName: [String: [Int]] = [:]
        if pools.contains(where: \.isCNAME) {
            for pi in placements.keys { placedByName[pools[pi].name.lowercased(), default: []].append(pi) }
        }
        var building = Set<Int>()

        func make(_ pi: Int, depth: Int) -> PoolRuntime? {
            if let r = built[pi] { return r }
            guard depth < 8, placements[pi] != nil, !building.contains(pi) else { return nil }
            building.insert(pi)
            defer { building.remove(pi) }
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
                let addr: ClientAddress
                if p.isCNAME {
                    guard m.isTarget, (try? DomainName(m.address)) != nil else {
                        issues.append("pool \(p.name): member \(m.address) is not a target name")
                        return nil
                    }
                    addr = .unknown
                } else if let a = ClientAddress(text: m.address), (a.family == 4) == (p.recordType == .a) {
                    addr = a
                } else {
                    issues.append("pool \(p.name): member \(m.address) is not an address of type \(p.type)")
                    return nil
                }
                memberSlots.append(layout.memberSlot(pool: pi, member: j))
                let h = health[MemberKey(pool: p.name, address: m.address)]
                // A target that is a pool of Cairn's own, not probed itself: up when that pool has an eligible member
                // probed up, down when it has no eligible member, else unknown.
                var derived: HealthState?
                if p.isCNAME, h == nil, let tis = placedByName[m.address.lowercased()] {
                    let targets = tis.compactMap { make($0, depth: depth + 1) }
                    if !targets.isEmpty {
                        let eligible = targets.flatMap(\.members).filter(\.eligible)
                        derived = eligible.contains { $0.real == .up } ? .up : eligible.isEmpty ? .down : .unknown
                    }
                }
                let real = h?.state ?? derived ?? .unknown
                let f = forced(p, m)
                var reason: String?
                if m.state != .enabled { reason = "admin state \(m.state.rawValue)" }
                else if m.weight <= 0 { reason = "weight 0 (fallback only)" }
                else if let f, f.0 != .up {
                    reason = "forced \(f.0.rawValue) by \(MemberView.forcedByText(f.1, override: f.2.id, drill: f.2.drillID) ?? f.1)"
                }
                else if f == nil && real == .down { reason = derived == nil ? "down" : "target pool \(m.address) has no eligible member" }
                return MemberView(member: m, address: addr, site: sites[m.site], real: real, realStale: h?.stale ?? false,
                                  load: h?.load ?? m.load,
                                  forced: f?.0, forcedBy: f?.1, forcedOverride: f?.2.id, forcedDrill: f?.2.drillID,
                                  eligible: reason == nil, reason: reason)
            }
            let r = PoolRuntime(pool: p, name: (try? DomainName(p.name.hasSuffix(".") ? p.name : p.name + ".")) ?? .root, members: views, sites: sites, topology: topology, fallbackPool: fb,
                                memberSlots: memberSlots, fallbackSlot: layout.fallbackSlot(pool: pi, memberCount: p.members.count))
            built[pi] = r
            return r
        }

        var out: [PoolRuntime] = []
        // Three per slot by type (`ServingSnapshot.slotPools`); of two pools of one type at one name, the first placed.
        var slots = [PoolRuntime?](repeating: nil, count: 3 * slotCount)
        for pi in placements.keys.sorted() {
            guard let r = make(pi, depth: 0), let slot = placements[pi] else { continue }
            if let k = ServingSnapshot.slotPoolIndex(r.type), slots[3 * slot + k] == nil { slots[3 * slot + k] = r }
            out.append(r)
        }
        return (out, slots)
    }
}
