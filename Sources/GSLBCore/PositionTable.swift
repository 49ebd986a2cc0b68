/// Positions in an array the caller keeps, found by hash: open addressing over one array of 8-octet slots,
/// probed linearly and at most half full. A slot holds the low 32 bits of the element's hash (which also
/// place it, so the table grows without the elements) and the position plus one (0: empty). The caller
/// says which position holds what it looks for; the table holds no keys, so it costs 8 octets a slot
/// whatever the key. A Swift `Dictionary` keyed by a name held the name (16 to 32 octets) beside every
/// value at up to 3/4 load: the zone index's names, the index build's name numbers and the zone check's
/// RRsets of a 1,050,003-record zone each took 40 to 84 MiB of buckets, and their cache misses most of
/// the load's hashing time.
public struct PositionTable: Sendable {
    private var slots: [UInt64]
    private var mask: Int
    public private(set) var count = 0

    public init(minimumCapacity n: Int = 0) {
        var size = 16
        while size < 2 * n { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    /// The position whose element `matches`, probing from `hash`'s place; nil when none does.
    @inline(__always)
    public func find(hash: Int, matches: (Int) -> Bool) -> Int? {
        probe(Self.tag(hash), matches).position
    }

    /// The position whose element `matches`, or else `position` put in: (that position, whether it was put in).
    @inline(__always)
    public mutating func findOrInsert(hash: Int, position: Int, matches: (Int) -> Bool) -> (position: Int, inserted: Bool) {
        if 2 * (count + 1) > slots.count { grow() }
        let tag = Self.tag(hash)
        let (slot, found) = probe(tag, matches)
        if let found { return (found, false) }
        slots[slot] = tag << 32 | UInt64(position + 1)
        count += 1
        return (position, true)
    }

    @inline(__always)
    static func tag(_ hash: Int) -> UInt64 { UInt64(UInt32(truncatingIfNeeded: hash)) }

    /// The slot of the element `matches` with its position, or the empty slot where the probe ended.
    @inline(__always)
    private func probe(_ tag: UInt64, _ matches: (Int) -> Bool) -> (slot: Int, position: Int?) {
        var i = Int(tag) & mask
        while true {
            let s = slots[i]
            if s == 0 { return (i, nil) }
            if s >> 32 == tag {
                let p = Int(truncatingIfNeeded: s & 0xffff_ffff) - 1
                if matches(p) { return (i, p) }
            }
            i = (i &+ 1) & mask
        }
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        mask = slots.count - 1
        for s in old where s != 0 {
            var i = Int(s >> 32) & mask
            while slots[i] != 0 { i = (i &+ 1) & mask }
            slots[i] = s
        }
    }
}
