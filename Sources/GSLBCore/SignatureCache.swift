import DNSWire

/// The RRSIGs one answer engine has made, by RRset content: owner (lower-case), type, class, TTL, the
/// RDATAs in canonical order, and the signing key set. One per engine (per UDP worker, per TCP
/// connection's engine), so no lock is ever taken: a miss signs on the worker's own thread and
/// stores the result.
///
/// A signature is made with its inception an hour in the past (clock skew) and `validity` ahead, and
/// is used until half the validity is left; then the next query for that RRset signs it again.
/// Bounded by `maxEntries` and `maxBytes` (keys and signatures): when full, the oldest entries go
/// first (insertion order).
public final class SignatureCache {
    struct Entry {
        let records: [EncodedRecord]
        let refreshAt: UInt64
        let bytes: Int
    }

    /// Defaults: 20,000 RRsets and 8 MiB per engine (docs/dnssec.md, docs/security.md).
    public static let defaultMaxEntries = 20_000
    public static let defaultMaxBytes = 8 << 20
    /// Seven days: what a validator sees as the signature's lifetime.
    public static let validity: UInt64 = 7 * 86_400
    /// Inception this far in the past, for validators whose clocks are behind.
    public static let backdate: UInt64 = 3_600

    public let maxEntries: Int
    public let maxBytes: Int
    private var entries: [[UInt8]: Entry] = [:]
    private var order: [[UInt8]] = []
    private var head = 0
    public private(set) var bytes = 0
    /// Signatures made (cache misses and refreshes), and answers served from the cache.
    public private(set) var signed = 0
    public private(set) var hits = 0
    private var key: [UInt8] = []
    private var sorted: [[UInt8]] = []

    public init(maxEntries: Int = defaultMaxEntries, maxBytes: Int = defaultMaxBytes) {
        self.maxEntries = max(1, maxEntries)
        self.maxBytes = max(1024, maxBytes)
    }

    public var count: Int { entries.count }

    /// The RRSIGs over `records` at `owner` (signed over `signingOwner`: the wildcard name of an expanded
    /// answer, else `owner`), from the cache or signed now with `signer`.
    /// `records` is a slice of the answer's records: a cache hit allocates nothing.
    public func rrsigs(_ signer: ZoneSigner, signingOwner: DomainName, type: RecordType, records: ArraySlice<EncodedRecord>,
                       now: UInt64) -> [EncodedRecord] {
        guard let first = records.first else { return [] }
        key.removeAll(keepingCapacity: true)
        withUnsafeBytes(of: signer.fingerprint) { key.append(contentsOf: $0) }
        key.append(contentsOf: signingOwner.key)
        key.append(UInt8(type.rawValue >> 8)); key.append(UInt8(type.rawValue & 0xff))
        key.append(UInt8(first.rclass >> 8)); key.append(UInt8(first.rclass & 0xff))
        withUnsafeBytes(of: first.ttl) { key.append(contentsOf: $0) }
        if records.count == 1 {
            appendRdata(first.rdata)
        } else {
            // Any order of the same RRset (round-robin rotations, pool answers) is one entry.
            sorted.removeAll(keepingCapacity: true)
            for r in records { sorted.append(r.rdata) }
            sorted.sort { $0.lexicographicallyPrecedes($1) }
            for r in sorted { appendRdata(r) }
        }
        if let e = entries[key], now < e.refreshAt {
            hits += 1
            return e.records
        }
        let inception = UInt32(truncatingIfNeeded: now &- Self.backdate)
        let expiration = UInt32(truncatingIfNeeded: now &+ Self.validity)
        let sigs = signer.sign(owner: signingOwner, type: type, rclass: first.rclass, ttl: first.ttl, records: Array(records),
                               inception: inception, expiration: expiration)
        signed += 1
        let size = key.count + sigs.reduce(0) { $0 + $1.rdata.count + 32 } + 64
        if let old = entries.updateValue(Entry(records: sigs, refreshAt: now &+ Self.validity / 2, bytes: size), forKey: key) {
            bytes -= old.bytes
        } else {
            order.append(key)
        }
        bytes += size
        evict()
        return sigs
    }

    @inline(__always)
    private func appendRdata(_ r: [UInt8]) {
        key.append(UInt8(r.count >> 8)); key.append(UInt8(r.count & 0xff))
        key.append(contentsOf: r)
    }

    private func evict() {
        while entries.count > maxEntries || bytes > maxBytes, head < order.count {
            if let e = entries.removeValue(forKey: order[head]) { bytes -= e.bytes }
            head += 1
        }
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
