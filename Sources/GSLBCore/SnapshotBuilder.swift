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

    public func build(zones input: [ZoneContent], generation: UInt64 = 0) throws -> ServingSnapshot {
        // Parents before children, so a child's apex replaces the parent's delegation node in the index.
        let ordered = input.sorted { $0.origin.labelCount < $1.origin.labelCount }
        var seen = Set<DomainName>()
        var index: [ArraySlice<UInt8>: ZoneNode] = [:]
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
                for k in index.keys where DomainName(uncheckedWire: Array(k)).isSubdomain(of: zc.origin) && k != zc.origin.key[...] {
                    index[k] = nil
                }
            }
            for (k, v) in nodes {
                if let existing = index[k] {
                    // A child zone's apex where the parent has its delegation.
                    v.parentSide = existing
                }
                index[k] = v
            }
            served.append(ServedZone(origin: apex.name, source: zc.source, serial: soa.serial, apex: apex,
                                     negativeSOA: EncodedRecord(soaRR).withTTL(min(soaRR.ttl, soa.minimum))))
        }
        return ServingSnapshot(zones: served, index: index, generation: generation)
    }
}
