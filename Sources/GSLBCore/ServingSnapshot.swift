import Foundation
import DNSWire

/// One RRset at a node, prepared for writing. Its records are a slice of one array per zone (a zone
/// of a million records has one array of them, not a million).
public struct RRSet: Sendable {
    public let type: RecordType
    public let records: ArraySlice<EncodedRecord>
    /// Addresses (A then AAAA) to add to the additional section with this RRset:
    /// glue for a delegation's NS set, in-zone addresses for the apex NS set.
    public let additional: [AdditionalData]
}

/// Address records of one name for the additional section.
public struct AdditionalData: Sendable {
    public let owner: DomainName
    public let records: [EncodedRecord]
    /// In-domain glue (below the delegation): RFC 9471 says it must fit or TC is set.
    public let required: Bool
}

/// A name in a served zone. Immutable once the snapshot is published. Stored in declaration order: what
/// every answer at the name itself reads (name, zone, cut, DNAME, pool slot) fills the first cache line.
public final class ZoneNode: @unchecked Sendable {
    public let name: DomainName
    /// The zone this node belongs to (its origin and negative-answer SOA): a reference, not a position in
    /// `ServingSnapshot.zones`, so that a zone's nodes stay valid in an index rebuilt around them.
    public let zone: ZoneHead
    /// The highest delegation point (NS, not the apex) at or above this node in its zone.
    public internal(set) var cut: ZoneNode?
    /// The highest DNAME owner strictly above this node in its zone.
    public internal(set) var dnameAbove: ZoneNode?
    /// Index of this name's slot in `ServingSnapshot.slotPools` when GSLB pools answer at this name; -1 otherwise.
    /// Nodes are shared between snapshots that differ only in health, so the pools
    /// themselves live in the snapshot, not here.
    public internal(set) var poolSlot: Int = -1
    /// RRsets in file order of their first record (a slice of one array per zone).
    public internal(set) var rrsets: ArraySlice<RRSet> = []
    /// The `*` child of this node, if the zone has one.
    public internal(set) var wildcard: ZoneNode?
    /// The parent zone's delegation node at the same name, when both zones are served (answers DS).
    public internal(set) var parentSide: ZoneNode?
    public let labelCount: Int

    init(name: DomainName, zone: ZoneHead) {
        self.name = name
        self.zone = zone
        self.labelCount = name.labelCount
    }

    /// A copy of a node of the zone index for a snapshot's GSLB layer (a pool answers at its name):
    /// same records and links, its own pool slot. The zone index's node stays as it was.
    init(shadowing s: ZoneNode, poolSlot: Int) {
        self.name = s.name
        self.zone = s.zone
        self.labelCount = s.labelCount
        self.rrsets = s.rrsets
        self.cut = s.cut
        self.dnameAbove = s.dnameAbove
        self.wildcard = s.wildcard
        self.parentSide = s.parentSide
        self.poolSlot = poolSlot
    }

    @inline(__always)
    public func rrset(_ t: RecordType) -> RRSet? {
        for s in rrsets where s.type == t { return s }
        return nil
    }
}

/// What every node of a zone refers to: the facts an answer from that zone needs.
public final class ZoneHead: Sendable {
    public let origin: DomainName
    /// The SOA as it goes in the authority section of negative answers:
    /// TTL = min(SOA TTL, MINIMUM) (RFC 2308 §3).
    public let negativeSOA: EncodedRecord
    /// The same record as the one-record RRset a negative answer's authority section holds: made once here, so
    /// that an NXDOMAIN or NODATA answer does not allocate an array for it.
    let negativeSOASet: [EncodedRecord]

    init(origin: DomainName, negativeSOA: EncodedRecord) {
        self.origin = origin
        self.negativeSOA = negativeSOA
        self.negativeSOASet = [negativeSOA]
    }
}

/// A served zone's facts needed at answer time.
public struct ServedZone: Sendable {
    public let head: ZoneHead
    public let source: String
    public let serial: UInt32
    public let apex: ZoneNode
    public var origin: DomainName { head.origin }
    public var negativeSOA: EncodedRecord { head.negativeSOA }
    var negativeSOASet: [EncodedRecord] { head.negativeSOASet }
}

/// The static half of a snapshot: every name of every served zone, built from the zone files
/// alone (`SnapshotBuilder.buildIndex`). Snapshots share it until the zones are reloaded: a change
/// of the GSLB configuration, health or overrides builds a new snapshot around the same index.
public final class ZoneIndex: Sendable {
    public let zones: [ServedZone]
    /// Every name of every zone (lower-cased wire form) → its node. A name that
    /// is the apex of a child zone maps to the child's node.
    let nodes: NameTable
    /// Each zone's own nodes (same order as `zones`; a parent zone's names below a served child zone
    /// included): what an index rebuilt for another zone's change takes over without re-reading this one.
    let zoneNodes: [[ZoneNode]]

    init(zones: [ServedZone], nodes: NameTable, zoneNodes: [[ZoneNode]]) {
        self.zones = zones
        self.nodes = nodes
        self.zoneNodes = zoneNodes
    }

    public static let empty = ZoneIndex(zones: [], nodes: NameTable(), zoneNodes: [])

    /// Names indexed (every zone, empty non-terminals included).
    public var nameCount: Int { nodes.count }
}

/// Everything the query path reads, built once per change and swapped atomically.
public final class ServingSnapshot: Sendable {
    public let zones: [ServedZone]
    /// The zone data, shared with every snapshot built since the zones were last loaded.
    public let zoneIndex: ZoneIndex
    /// `zoneIndex.nodes`, held here too so that a lookup does not go through the index object.
    let index: NameTable
    /// The GSLB layer's names: each name a placed pool answers at (a copy of the zone index's node
    /// when the name has static data too) and the empty non-terminals above pool names that the
    /// zone does not have. Looked up before `index`, when `gslbFilter` says the name may be here. Its slots
    /// hold this snapshot's selectors (`NodeTable.selecting`).
    let gslbNodes: NodeTable
    /// A bit per hash of a name's length and first label, set for every key of `gslbNodes`:
    /// a name of the zone data alone costs one bit test, not a second dictionary lookup.
    let gslbFilter: NameFilter
    /// Nodes of `gslbNodes` that are not in `index` (pool names and their empty non-terminals).
    let gslbNewNames: Int
    /// Monotonic build number, for logs and metrics.
    public let generation: UInt64
    /// Every pool that answers, by name and type.
    public let pools: [PoolRuntime]
    /// The pools at each node slot, three per slot by type (A, AAAA, CNAME: `slotPoolIndex`) in one array:
    /// a query reads one element, not a slot's own array and each of its pools' types.
    let slotPools: [PoolRuntime?]
    /// `slotPools`' primary selectors, as a query for a pool name reads them: a pointer each (no reference
    /// counting), to a head and members aligned to a cache line rather than to the pool object.
    let slotSelectors: [PackedSelector?]
    /// For each pool of `gslb.config.pools` that answers: its slot.
    let placements: [Int: Int]
    public let topology: TopologyTable
    /// The GSLB state the pools were built from (for explain and the API).
    public let gslb: GSLBState
    /// Problems found while building (pools left out, with why).
    public let issues: [String]
    /// Where answer counters go for this snapshot's pools (shared by snapshots with the same config).
    public let tallyLayout: TallyLayout
    /// The TSIG keys of `gslb.tsigKeys`, by name (shared by snapshots with the same keys).
    public let tsigKeys: TSIGKeyring
    /// Per zone of `zones` (same index), its signer when DNSSEC is enabled for it (`gslb.dnssecKeys`).
    public let signers: [ZoneSigner?]
    /// True when some zone is signed: an unsigned server's DO=1 answers skip every DNSSEC step.
    public let signs: Bool
    /// The signers by the zone their nodes point to (`ZoneNode.zone`), for the answer path.
    let signersByHead: [ObjectIdentifier: ZoneSigner]

    init(zoneIndex: ZoneIndex, gslbNodes: NodeTable = NodeTable([]), gslbNewNames: Int = 0, generation: UInt64,
         pools: [PoolRuntime] = [], slotPools: [PoolRuntime?] = [], placements: [Int: Int] = [:],
         topology: TopologyTable = TopologyTable([]), gslb: GSLBState = GSLBState(), issues: [String] = [],
         tallyLayout: TallyLayout = .empty, tsigKeys: TSIGKeyring? = nil, signers: [ZoneSigner?]? = nil) {
        self.zoneIndex = zoneIndex
        self.zones = zoneIndex.zones
        self.index = zoneIndex.nodes
        self.gslbFilter = NameFilter(gslbNodes.keys)
        self.gslbNewNames = gslbNewNames
        self.generation = generation
        self.pools = pools
        self.slotPools = slotPools
        let slotSelectors = slotPools.map { $0?.packed }
        self.slotSelectors = slotSelectors
        self.gslbNodes = gslbNodes.isEmpty ? gslbNodes : gslbNodes.selecting(slotSelectors)
        self.placements = placements
        self.topology = topology
        self.gslb = gslb
        self.issues = issues
        self.tallyLayout = tallyLayout
        self.tsigKeys = tsigKeys ?? (gslb.tsigKeys.isEmpty ? .empty : TSIGKeyring(gslb.tsigKeys))
        let signers = signers ?? Self.makeSigners(zones: zoneIndex.zones, keys: gslb.dnssecKeys)
        self.signers = signers
        self.signs = signers.contains { $0 != nil }
        self.signersByHead = Dictionary(zip(zoneIndex.zones, signers).compactMap { z, s in s.map { (ObjectIdentifier(z.head), $0) } },
                                        uniquingKeysWith: { _, last in last })
    }

    /// A signer per zone with keys in the store (zones without keys, or whose keys cannot sign: nil).
    static func makeSigners(zones: [ServedZone], keys: [DNSSECKey]) -> [ZoneSigner?] {
        guard !keys.isEmpty else { return Array(repeating: nil, count: zones.count) }
        let byZone = Dictionary(grouping: keys, by: \.zone)
        return zones.map { z in
            byZone[z.origin.description.lowercased()].flatMap {
                ZoneSigner(origin: z.origin, keys: $0, keyTTL: ZoneSigner.keyTTL(z), corrupt: corruptSignatures)
            }
        }
    }

    /// Test-only (`CAIRN_TEST_CORRUPT_RRSIG=1` in the server's environment): every signature made is
    /// wrong, so that the tests can show a validating resolver refusing them. Never set in production.
    static let corruptSignatures = ProcessInfo.processInfo.environment["CAIRN_TEST_CORRUPT_RRSIG"] == "1"

    /// The signer of the zone `head` (a node's `zone`), if it is signed.
    @inline(__always)
    public func signer(_ head: ZoneHead?) -> ZoneSigner? {
        guard signs, let head else { return nil }
        return signersByHead[ObjectIdentifier(head)]
    }

    public static let empty = ServingSnapshot(zoneIndex: .empty, generation: 0)

    /// The pool answering `t` at `node`, if any.
    @inline(__always)
    public func pool(at node: ZoneNode, _ t: RecordType) -> PoolRuntime? {
        Self.position(node.poolSlot, t).flatMap { slotPools[$0] }
    }

    /// The primary selector of the pool answering `t` at the node whose `poolSlot` is `slot`, if any.
    @inline(__always)
    func selector(inSlot slot: Int, _ t: RecordType) -> PackedSelector? {
        Self.position(slot, t).flatMap { slotSelectors[$0] }
    }

    /// Where the pool of type `t` at pool slot `slot` is in `slotPools` and `slotSelectors` (nil: no slot, or a
    /// type no pool has).
    @inline(__always)
    static func position(_ slot: Int, _ t: RecordType) -> Int? {
        guard slot >= 0, let k = slotPoolIndex(t) else { return nil }
        return 3 * slot + k
    }

    /// A pool's place among its slot's three in `slotPools` (the types a pool can have).
    @inline(__always)
    static func slotPoolIndex(_ t: RecordType) -> Int? {
        t == .a ? 0 : t == .aaaa ? 1 : t == .cname ? 2 : nil
    }

    /// The first pool at `node` of the types in `slotPoolIndex` order (A, AAAA, CNAME): what an ANY query answers.
    @inline(__always)
    func firstPool(at node: ZoneNode) -> PoolRuntime? {
        Self.firstPlace(node.poolSlot, slotPools).flatMap { slotPools[3 * node.poolSlot + $0] }
    }

    /// The place (`slotPoolIndex`) of the first pool at pool slot `slot` in `items` (`slotPools` or `slotSelectors`,
    /// three per slot), if the slot has one.
    static func firstPlace<T>(_ slot: Int, _ items: [T?]) -> Int? {
        guard slot >= 0, 3 * slot + 2 < items.count else { return nil }
        return (0..<3).first { items[3 * slot + $0] != nil }
    }

    public func pool(name: DomainName, type: RecordType) -> PoolRuntime? {
        pools.first { $0.name == name && $0.type == type }
    }

    /// The static record types at a name (nil when the name does not exist), for config validation.
    public func staticTypes(at name: DomainName) -> Set<RecordType>? {
        guard let n = index[NameKey(name.key[...])], n.name == name else { return nil }
        return Set(n.rrsets.map(\.type))
    }

    /// The address a CNAME pool's target is probed at when its member has no `probe.address`: the first A
    /// (else AAAA) record at the target in the served zones' static data, following static CNAMEs (at most 8).
    /// Nil when the target is outside the served zones or has no address there.
    public func probeAddress(ofTarget target: String) -> String? {
        guard let name = try? DomainName(target) else { return nil }
        var key = name.key
        for _ in 0..<8 {
            guard let n = index[NameKey(key[...])] else { return nil }
            if let r = n.rrset(.a)?.records.first ?? n.rrset(.aaaa)?.records.first { return RDataText.format(type: r.type, rdata: r.rdata) }
            guard let t = n.rrset(.cname)?.records.first?.target else { return nil }
            key = t.key
        }
        return nil
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

    /// Exact node for a lower-cased wire name: the GSLB layer's, else the zone index's.
    @inline(__always)
    public func node(forKey key: ArraySlice<UInt8>) -> ZoneNode? {
        if let e = layerEntry(forKey: key) { return e.node.takeUnretainedValue() }
        return index[NameKey(key)]
    }

    /// The GSLB layer's entry for a lower-cased wire name, if the layer has that name.
    @inline(__always)
    func layerEntry(forKey key: ArraySlice<UInt8>) -> NodeTable.Entry? {
        gslbFilter.mayContain(key) ? gslbNodes.entry(key) : nil
    }

    public func node(for name: DomainName) -> ZoneNode? { node(forKey: name.key[...]) }

    /// Names answered (every zone, empty non-terminals and pool names included).
    public var nameCount: Int { index.count + gslbNewNames }
}

/// The GSLB layer's nodes by name, for the query path: open addressing where each slot is one cache line
/// holding a hash tag, the node, what a pool answer needs of it (its zone, its pool slot, whether a cut
/// or DNAME is above it, the primary selector of one of its pools) and the name's key (when it fits in
/// `inlineKey` octets). A query for a pool name reads the slot and not the node (a cold cache line or two
/// with 10,000 pools), confirms the key in the slot, not in the node's name, and goes from the slot to
/// the selector's head without reading the snapshot's `slotSelectors`. Not a `NameTable`: its 8-octet slots
/// point into an array of nodes (one more dependent load), which the zone index needs for its size; the
/// layer holds one name per pool. Every snapshot has its own copy of the slots (`selecting`), since the
/// selectors are its pools'; snapshots that differ only in pools share the nodes.
struct NodeTable: @unchecked Sendable {
    /// What a slot holds of its node: the node, and for a pool answer its zone, pool slot and a selector.
    struct Entry {
        let node: Unmanaged<ZoneNode>
        let zone: Unmanaged<ZoneHead>
        /// The node's `poolSlot` (-1: no pool answers here).
        let poolSlot: Int
        /// No zone cut at or above the node and no DNAME above it: an exact match here is answered from
        /// the node's own data (RFC 1034 §4.3.2 step 3a), so a pool answer needs nothing else of it.
        let plain: Bool
        /// The primary selector of the first pool of the node's slot (A, AAAA, CNAME: `slotPoolIndex`), and that
        /// pool's place among the three (3: none).
        let selector: PackedSelector?
        let selectorPlace: Int

        /// The selector of the pool answering a query whose type has place `k` (`slotPoolIndex`) here, when the
        /// slot holds it: that type's pool, or a CNAME pool (the only pool at its name). Nil: look in
        /// `ServingSnapshot.slotSelectors` (an AAAA pool beside an A pool).
        @inline(__always)
        func selector(_ k: Int) -> PackedSelector? {
            selectorPlace == k || selectorPlace == 2 ? selector : nil
        }
    }

    private struct Slot {
        var tag: UInt16 = 0
        /// The key's length when the key is inline, else 0 (confirmed against the node's name).
        var length: UInt8 = 0
        /// Bit 0: `plain`; bits 1-2: `selectorPlace`.
        var flags: UInt8 = 3 << 1
        var poolSlot: Int32 = -1
        var node: Unmanaged<ZoneNode>?
        var zone: Unmanaged<ZoneHead>?
        var selector: PackedSelector?
        /// The key's `inlineKey` octets.
        var key: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    }

    /// Where the inline key starts in a slot, and how long it can be: the rest of the cache line.
    static let keyOffset = MemoryLayout<Slot>.offset(of: \Slot.key)!
    static let inlineKey = 64 - keyOffset

    /// The slots, each on a cache line of its own, and the nodes they point to (kept alive here).
    private final class Storage: @unchecked Sendable {
        let slots: UnsafeMutablePointer<Slot>
        let count: Int
        let nodes: [ZoneNode]

        init(count: Int, nodes: [ZoneNode]) {
            self.nodes = nodes
            self.count = count
            slots = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Slot>.stride, alignment: 64)
                .bindMemory(to: Slot.self, capacity: count)
            slots.initialize(repeating: Slot(), count: count)
        }

        deinit { slots.deallocate() }
    }

    private let storage: Storage
    /// `storage.slots`, read here without a load from `storage`.
    private let slots: UnsafeMutablePointer<Slot>
    private let mask: Int

    private init(storage: Storage) {
        self.storage = storage
        self.slots = storage.slots
        self.mask = storage.count - 1
    }

    /// A table of `nodes` whose slots hold no selector yet (`selecting`).
    init(_ nodes: [ZoneNode]) {
        assert(MemoryLayout<Slot>.stride == 64 && Self.keyOffset == 32 && MemoryLayout<PackedSelector?>.size == 8)
        var size = 16
        while size < 2 * nodes.count { size <<= 1 }
        let storage = Storage(count: size, nodes: nodes)
        for n in nodes {
            let key = n.name.key
            let h = NameTable.hash(key[...])
            var i = h & (size - 1)
            while storage.slots[i].node != nil { i = (i &+ 1) & (size - 1) }
            var slot = Slot(tag: UInt16(truncatingIfNeeded: h), poolSlot: Int32(n.poolSlot), node: .passUnretained(n),
                            zone: .passUnretained(n.zone))
            if n.cut == nil && n.dnameAbove == nil { slot.flags |= 1 }
            if key.count <= Self.inlineKey {
                slot.length = UInt8(key.count)
                withUnsafeMutableBytes(of: &slot) { ($0.baseAddress! + Self.keyOffset).copyMemory(from: key, byteCount: key.count) }
            }
            storage.slots[i] = slot
        }
        self.init(storage: storage)
    }

    /// A copy of this table whose slots hold the primary selectors `selectors` (three per pool slot, as
    /// `ServingSnapshot.slotSelectors`): of each slot's pools, the first. The nodes are shared; the slots are
    /// copied (64 octets per slot: 2 MiB for 10,000 pool names), since another snapshot may hold these.
    func selecting(_ selectors: [PackedSelector?]) -> NodeTable {
        let copy = Storage(count: storage.count, nodes: storage.nodes)
        copy.slots.update(from: slots, count: storage.count)
        for i in 0..<storage.count where copy.slots[i].node != nil {
            let s = Int(copy.slots[i].poolSlot)
            let k = ServingSnapshot.firstPlace(s, selectors)
            copy.slots[i].selector = k.flatMap { selectors[3 * s + $0] }
            copy.slots[i].flags = (copy.slots[i].flags & 1) | UInt8(k ?? 3) << 1
        }
        return NodeTable(storage: copy)
    }

    var isEmpty: Bool { storage.nodes.isEmpty }

    /// The nodes' keys, in no particular order.
    var keys: [NameKey] { storage.nodes.map { NameKey($0.name.key[...]) } }

    @inline(__always)
    subscript(key: ArraySlice<UInt8>) -> ZoneNode? { entry(key)?.node.takeUnretainedValue() }

    /// The slot of the node named `key`, without reading the node when the key is inline.
    @inline(__always)
    func entry(_ key: ArraySlice<UInt8>) -> Entry? {
        let h = NameTable.hash(key)
        let tag = UInt16(truncatingIfNeeded: h)
        var i = h & mask
        while let n = slots[i].node {
            if slots[i].tag == tag {
                let length = Int(slots[i].length)
                if length == 0 ? NameKey.same(n.takeUnretainedValue().name.key[...], key)
                    : length == key.count && key.withUnsafeBytes({
                        memcmp(UnsafeRawPointer(slots + i) + Self.keyOffset, $0.baseAddress!, length) == 0
                    }) {
                    let flags = slots[i].flags
                    return Entry(node: n, zone: slots[i].zone!, poolSlot: Int(slots[i].poolSlot), plain: flags & 1 != 0,
                                 selector: slots[i].selector, selectorPlace: Int(flags &>> 1))
                }
            }
            i = (i &+ 1) & mask
        }
        return nil
    }
}

/// A set of lower-cased wire names as 4096 bits, one per hash of the name's length and its first
/// label's length, first and last octet: `mayContain` is false for most names not in the set, at the
/// cost of a few loads and a bit test (no hashing of the whole name).
struct NameFilter: Sendable {
    private let words: [UInt64]

    init<S: Sequence>(_ keys: S) where S.Element == NameKey {
        var w = [UInt64]()
        for k in keys {
            if w.isEmpty { w = [UInt64](repeating: 0, count: 64) }
            let s = Self.slot(k.bytes)
            w[s &>> 6] |= 1 &<< UInt64(s & 63)
        }
        words = w
    }

    @inline(__always)
    static func slot(_ key: ArraySlice<UInt8>) -> Int {
        let start = key.startIndex
        let count = key.count
        var h = count &* 0x9E37
        if count > 1 {
            let len = Int(key[start])
            h ^= len &* 0x85EB
            h ^= Int(key[start + 1]) &* 0xC2B3
            if len < count { h ^= Int(key[start + len]) &* 0x27D5 }
        }
        h ^= h &>> 12
        return h & 4095
    }

    @inline(__always)
    func mayContain(_ key: ArraySlice<UInt8>) -> Bool {
        guard !words.isEmpty else { return false }
        let s = Self.slot(key)
        return words[s &>> 6] & (1 &<< UInt64(s & 63)) != 0
    }
}

/// A lower-cased wire name (or a suffix of one) as the key of the name index. Hashed as one block of
/// bytes: `ArraySlice<UInt8>`'s own `Hashable` feeds the hasher a byte at a time, which showed up in
/// the UDP worker's profile (every query looks up one to a few keys).
public struct NameKey: Hashable, Sendable {
    public let bytes: ArraySlice<UInt8>

    @inlinable @inline(__always)
    public init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    @inlinable @inline(__always)
    public static func == (a: NameKey, b: NameKey) -> Bool { same(a.bytes, b.bytes) }

    /// Byte equality by `memcmp`: `ArraySlice`'s own `==` compares an element at a time (about 260
    /// instructions for a name of 20 octets, in every lookup's confirmation).
    @inlinable @inline(__always)
    public static func same(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in a.isEmpty || memcmp(pa.baseAddress!, pb.baseAddress!, pa.count) == 0 } }
    }

    @inlinable @inline(__always)
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// The zone index's names: every node of the served zones by its lower-cased wire name, in a
/// `PositionTable` over `nodes`. A lookup hashes the key once (as one block, like `NameKey`) and compares
/// the key of the node a matching slot points to. The `[NameKey: ZoneNode]` this replaces held a
/// 32-octet slice and a reference per bucket: 40 MiB of buckets for 500,000 names, against 8 MiB of
/// slots here (docs/benchmarks.md).
struct NameTable: Sendable {
    /// The nodes in the order they were put in.
    private(set) var nodes: [ZoneNode] = []
    private var table: PositionTable

    init(minimumCapacity n: Int = 0) {
        table = PositionTable(minimumCapacity: n)
        nodes.reserveCapacity(n)
    }

    var count: Int { nodes.count }

    /// `NameKey`'s hash: the key's bytes as one block.
    @inline(__always)
    static func hash(_ key: ArraySlice<UInt8>) -> Int { NameKey(key).hashValue }

    @inline(__always)
    subscript(key: NameKey) -> ZoneNode? {
        position(of: key.bytes).map { nodes[$0] }
    }

    /// The position in `nodes` of the node named `key`.
    @inline(__always)
    func position(of key: ArraySlice<UInt8>) -> Int? {
        table.find(hash: Self.hash(key)) { NameKey.same(nodes[$0].name.key[...], key) }
    }

    /// The position of the node named `key`, or else of the node `make()` gives, appended: (position, appended?).
    mutating func position(of key: ArraySlice<UInt8>, orAppend make: () -> ZoneNode) -> (position: Int, appended: Bool) {
        let (p, inserted) = table.findOrInsert(hash: Self.hash(key), position: nodes.count) { NameKey.same(nodes[$0].name.key[...], key) }
        if inserted { nodes.append(make()) }
        return (p, inserted)
    }

    /// Puts `node` under its name's key; returns the node it replaces there, if any.
    @discardableResult
    mutating func updateValue(_ node: ZoneNode) -> ZoneNode? {
        let (p, appended) = position(of: node.name.key[...]) { node }
        if appended { return nil }
        defer { nodes[p] = node }
        return nodes[p]
    }

    /// Drops the nodes whose lower-cased wire name `drop` accepts.
    mutating func removeAll(where drop: (ArraySlice<UInt8>) -> Bool) {
        let kept = nodes.filter { !drop($0.name.key[...]) }
        guard kept.count != nodes.count else { return }
        var t = NameTable(minimumCapacity: kept.count)
        for n in kept { t.updateValue(n) }
        self = t
    }
}
