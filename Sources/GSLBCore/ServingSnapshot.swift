import DNSWire

/// One RRset at a node, prepared for writing.
public struct RRSet: Sendable {
    public let type: RecordType
    public let records: [EncodedRecord]
    /// Addresses (A then AAAA) to add to the additional section with this RRset:
    /// glue for a delegation's NS set, in-zone addresses for the apex NS set.
    public let additional: [AdditionalData]

    public init(type: RecordType, records: [EncodedRecord], additional: [AdditionalData] = []) {
        self.type = type
        self.records = records
        self.additional = additional
    }
}

/// Address records of one name for the additional section.
public struct AdditionalData: Sendable {
    public let owner: DomainName
    public let records: [EncodedRecord]
    /// In-domain glue (below the delegation): RFC 9471 says it must fit or TC is set.
    public let required: Bool
}

/// A name in a served zone. Immutable once the snapshot is published.
public final class ZoneNode: @unchecked Sendable {
    public let name: DomainName
    /// Index into `ServingSnapshot.zones`.
    public let zone: Int
    /// RRsets in file order of their first record.
    public internal(set) var rrsets: [RRSet] = []
    /// The highest delegation point (NS, not the apex) at or above this node in its zone.
    public internal(set) var cut: ZoneNode?
    /// The highest DNAME owner strictly above this node in its zone.
    public internal(set) var dnameAbove: ZoneNode?
    /// The `*` child of this node, if the zone has one.
    public internal(set) var wildcard: ZoneNode?
    /// The parent zone's delegation node at the same name, when both zones are served (answers DS).
    public internal(set) var parentSide: ZoneNode?
    public let labelCount: Int
    /// Index into `ServingSnapshot.poolSlots` when GSLB pools answer at this name; -1 otherwise.
    /// Nodes are shared between snapshots that differ only in health, so the pools
    /// themselves live in the snapshot, not here.
    public internal(set) var poolSlot: Int = -1

    init(name: DomainName, zone: Int) {
        self.name = name
        self.zone = zone
        self.labelCount = name.labelCount
    }

    @inline(__always)
    public func rrset(_ t: RecordType) -> RRSet? {
        for s in rrsets where s.type == t { return s }
        return nil
    }

    public var isEmptyNonTerminal: Bool { rrsets.isEmpty }
}

/// A served zone's facts needed at answer time.
public struct ServedZone: Sendable {
    public let origin: DomainName
    public let source: String
    public let serial: UInt32
    public let apex: ZoneNode
    /// The SOA as it goes in the authority section of negative answers:
    /// TTL = min(SOA TTL, MINIMUM) (RFC 2308 §3).
    public let negativeSOA: EncodedRecord
}

/// Everything the query path reads, built once per change and swapped atomically.
public final class ServingSnapshot: Sendable {
    public let zones: [ServedZone]
    /// Every name of every zone (lower-cased wire form) → its node. A name that
    /// is the apex of a child zone maps to the child's node.
    let index: [NameKey: ZoneNode]
    /// Monotonic build number, for logs and metrics.
    public let generation: UInt64
    /// Every pool that answers, by name and type.
    public let pools: [PoolRuntime]
    /// Pools per node slot (at most one per type).
    let poolSlots: [[PoolRuntime]]
    /// For each pool of `gslb.config.pools` that answers: its slot.
    let placements: [Int: Int]
    public let topology: TopologyTable
    /// The GSLB state the pools were built from (for explain and the API).
    public let gslb: GSLBState
    /// Problems found while building (pools left out, with why).
    public let issues: [String]
    /// Where answer counters go for this snapshot's pools (shared by snapshots with the same config).
    public let tallyLayout: TallyLayout

    init(zones: [ServedZone], index: [NameKey: ZoneNode], generation: UInt64, pools: [PoolRuntime] = [],
         poolSlots: [[PoolRuntime]] = [], placements: [Int: Int] = [:],
         topology: TopologyTable = TopologyTable([]), gslb: GSLBState = GSLBState(), issues: [String] = [],
         tallyLayout: TallyLayout = .empty) {
        self.zones = zones
        self.index = index
        self.generation = generation
        self.pools = pools
        self.poolSlots = poolSlots
        self.placements = placements
        self.topology = topology
        self.gslb = gslb
        self.issues = issues
        self.tallyLayout = tallyLayout
    }

    public static let empty = ServingSnapshot(zones: [], index: [:], generation: 0)

    /// The pool answering `t` at `node`, if any.
    @inline(__always)
    public func pool(at node: ZoneNode, _ t: RecordType) -> PoolRuntime? {
        guard node.poolSlot >= 0 else { return nil }
        for p in poolSlots[node.poolSlot] where p.type == t { return p }
        return nil
    }

    @inline(__always)
    public func pools(at node: ZoneNode) -> [PoolRuntime] {
        node.poolSlot >= 0 ? poolSlots[node.poolSlot] : []
    }

    public func pool(name: DomainName, type: RecordType) -> PoolRuntime? {
        pools.first { $0.name == name && $0.type == type }
    }

    /// The static record types at a name (nil when the name does not exist), for config validation.
    public func staticTypes(at name: DomainName) -> Set<RecordType>? {
        guard let n = index[NameKey(name.key[...])], n.name == name else { return nil }
        return Set(n.rrsets.map(\.type))
    }

    /// True when the name is at or below a zone cut, or below a DNAME, in its zone.
    public func isOccluded(_ name: DomainName) -> Bool {
        var key = name.key[...]
        while true {
            if let n = index[NameKey(key)] {
                if n.cut != nil || n.dnameAbove != nil { return true }
                if key.count < name.key.count && n.rrset(.dname) != nil { return true }
                return false
            }
            guard key.count > 1 else { return false }
            key = key[(key.startIndex + Int(key[key.startIndex]) + 1)...]
        }
    }

    /// The served zone origins.
    public var origins: [DomainName] { zones.map(\.origin) }

    /// Exact node for a lower-cased wire name.
    @inline(__always)
    public func node(forKey key: ArraySlice<UInt8>) -> ZoneNode? { index[NameKey(key)] }

    public func node(for name: DomainName) -> ZoneNode? { index[NameKey(name.key[...])] }

    public var nameCount: Int { index.count }
}

/// A lower-cased wire name (or a suffix of one) as the key of the name index. Hashed as one block of
/// bytes: `ArraySlice<UInt8>`'s own `Hashable` feeds the hasher a byte at a time, which showed up in
/// the UDP worker's profile (every query looks up one to a few keys).
public struct NameKey: Hashable, Sendable {
    public let bytes: ArraySlice<UInt8>

    @inlinable @inline(__always)
    public init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    @inlinable @inline(__always)
    public static func == (a: NameKey, b: NameKey) -> Bool { a.bytes == b.bytes }

    @inlinable @inline(__always)
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
