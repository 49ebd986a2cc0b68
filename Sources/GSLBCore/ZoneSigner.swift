import Crypto
import DNSWire

/// One signed zone as the query path sees it: its keys ready to sign, and the RRsets DNSSEC adds at
/// the apex (DNSKEY, and CDS/CDNSKEY for the parent, RFC 7344/8078). Built with the snapshot from the
/// store's `dnssec_keys`; immutable.
public final class ZoneSigner: Sendable {
    public let origin: DomainName
    /// Keys that sign the DNSKEY, CDS and CDNSKEY RRsets (KSKs or the CSK).
    let keySigners: [SigningKey]
    /// Keys that sign every other RRset (ZSKs or the CSK).
    let dataSigners: [SigningKey]
    public let dnskeys: [EncodedRecord]
    public let cds: [EncodedRecord]
    public let cdnskeys: [EncodedRecord]
    /// Names the key set: signatures cached under one key set are not used with another.
    let fingerprint: UInt64
    /// Test-only: every signature has one bit flipped (the validating-resolver tests' broken zone).
    let corrupt: Bool

    /// The longest TTL of the DNSKEY, CDS and CDNSKEY RRsets.
    public static let maxKeyTTL: UInt32 = 3600

    /// TTL of the DNSKEY, CDS and CDNSKEY RRsets of `zone`: its SOA's TTL (Knot's default), at most an hour. A
    /// short TTL makes rollovers short (docs/dnssec.md "Key rollover").
    public static func keyTTL(_ zone: ServedZone) -> UInt32 {
        min(maxKeyTTL, zone.apex.rrset(.soa)?.records.first?.ttl ?? maxKeyTTL)
    }

    /// The zone's signer, nil when `keys` has no key that can sign data or none that can sign keys. Every key
    /// is in the DNSKEY RRset; KSKs and CSKs in any state sign the key RRsets (double-signature), ZSKs and CSKs
    /// sign the data only while active (pre-publication); CDS and CDNSKEY name `DNSSECRollover.parentKeys`.
    public init?(origin: DomainName, keys: [DNSSECKey], keyTTL: UInt32 = ZoneSigner.maxKeyTTL, corrupt: Bool = false) {
        let signing = keys.compactMap { k in SigningKey(k).map { (k.state, $0) } }
        self.origin = origin
        self.keySigners = signing.filter { $0.1.role.signsKeys }.map(\.1)
        self.dataSigners = signing.filter { $0.1.role.signsData && $0.0 == .active }.map(\.1)
        guard !keySigners.isEmpty, !dataSigners.isEmpty else { return nil }
        self.dnskeys = keys.map { EncodedRecord(type: .dnskey, ttl: keyTTL, rdata: $0.dnskeyRdata) }
        let sep = DNSSECRollover.parentKeys(keys)
        self.cds = sep.map { EncodedRecord(type: .cds, ttl: keyTTL, rdata: $0.dsRdata(owner: origin)) }
        self.cdnskeys = sep.map { EncodedRecord(type: .cdnskey, ttl: keyTTL, rdata: $0.dnskeyRdata) }
        // What signs what: a rollover step changes it without changing the key set.
        self.fingerprint = fnv1a([(UInt8(1), keySigners), (2, dataSigners)].flatMap { mark, set in set.flatMap { [mark] + $0.rdata } })
        self.corrupt = corrupt
    }

    /// The apex RRset DNSSEC adds for `type` (DNSKEY, CDS, CDNSKEY), nil for any other.
    @inline(__always)
    public func apexRecords(_ type: RecordType) -> [EncodedRecord]? {
        switch type {
        case .dnskey: dnskeys
        case .cds: cds
        case .cdnskey: cdnskeys
        default: nil
        }
    }

    /// The RRSIG records over one RRset (RFC 4034 §3, RFC 4035 §2.2), one per signing key: `owner`
    /// is the name signed over (the wildcard's `*` name for an expanded answer, whose RRSIG labels
    /// field then counts the labels without the `*`), `records` the RRset in any order.
    public func sign(owner: DomainName, type: RecordType, rclass: UInt16, ttl: UInt32, records: [EncodedRecord],
                     inception: UInt32, expiration: UInt32) -> [EncodedRecord] {
        let keys = type == .dnskey || type == .cds || type == .cdnskey ? keySigners : dataSigners
        let labels = UInt8(owner.labelCount - (owner.isWildcard ? 1 : 0))
        // The canonical RRset (RFC 4034 §6.2, §6.3): each RR as owner, type, class, original TTL,
        // RDLENGTH, canonical RDATA; sorted by RDATA; duplicates once.
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
        var rdatas = records.map { ResourceRecord.canonicalRdata(type, $0.rdata) }
        rdatas.sort { $0.lexicographicallyPrecedes($1) }
        var rrset: [UInt8] = []
        var previous: [UInt8]? = nil
        for r in rdatas where r != previous {
            previous = r
            rrset += owner.key
            rrset += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), UInt8(rclass >> 8), UInt8(rclass & 0xff)] + be32(ttl)
                + [UInt8(r.count >> 8), UInt8(r.count & 0xff)]
            rrset += r
        }
        return keys.map { k in
            var rdata = [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), k.algorithm.number, labels] + be32(ttl)
            rdata += be32(expiration) + be32(inception) + [UInt8(k.tag >> 8), UInt8(k.tag & 0xff)] + origin.key
            var signature = k.sign(rdata + rrset)
            if corrupt { signature[0] ^= 0x01 }
            return EncodedRecord(type: .rrsig, rclass: rclass, ttl: ttl, rdata: rdata + signature)
        }
    }
}

/// A key ready to sign: the swift-crypto key object made once per snapshot, not per signature.
struct SigningKey: Sendable {
    enum Key: Sendable {
        case p256(P256.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }
    let key: Key
    let role: DNSSECKeyRole
    let algorithm: DNSSECAlgorithm
    let tag: UInt16
    let rdata: [UInt8]

    init?(_ k: DNSSECKey) {
        switch k.algorithm {
        case .ecdsap256sha256:
            guard let p = try? P256.Signing.PrivateKey(rawRepresentation: k.privateKey) else { return nil }
            key = .p256(p)
        case .ed25519:
            guard let p = try? Curve25519.Signing.PrivateKey(rawRepresentation: k.privateKey) else { return nil }
            key = .ed25519(p)
        }
        role = k.role
        algorithm = k.algorithm
        rdata = k.dnskeyRdata
        tag = k.keyTag
    }

    func sign(_ data: [UInt8]) -> [UInt8] {
        switch key {
        case .p256(let p): return (try? Array(p.signature(for: data).rawRepresentation)) ?? []
        case .ed25519(let p): return (try? Array(p.signature(for: data))) ?? []
        }
    }
}
