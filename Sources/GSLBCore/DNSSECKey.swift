import Crypto
import DNSWire
import Foundation

/// The DNSSEC algorithms Cairn signs with (RFC 8624 "MUST"/"RECOMMENDED" for signing): ECDSA P-256 with
/// SHA-256 (13, the default: small signatures, every validator) and Ed25519 (15).
public enum DNSSECAlgorithm: String, CaseIterable, Hashable, Sendable, Codable {
    case ecdsap256sha256
    case ed25519

    /// The algorithm number (IANA "DNS Security Algorithm Numbers").
    public var number: UInt8 { self == .ecdsap256sha256 ? 13 : 15 }
}

/// A key's place in a rollover (docs/dnssec.md "Key rollover"). Every state is in the DNSKEY RRset; what a
/// key signs in each:
/// - `published`: a new key, announced before use (a ZSK signs nothing yet; a KSK or CSK already signs the
///   DNSKEY RRset: double-signature). The daemon moves it on once the old DNSKEY RRset has left caches.
/// - `dsPending` (KSK and CSK): CDS/CDNSKEY name it; it waits for `cairn dnssec ds-seen` (the parent has its DS).
/// - `active`: the zone's key of its role (outside rollovers, every key is active).
/// - `retired`: replaced; a ZSK signs nothing, a KSK or CSK still signs the DNSKEY RRset (the parent's old DS
///   may be cached). Removed once nothing cached can need it.
public enum DNSSECKeyState: String, CaseIterable, Hashable, Sendable, Codable {
    case published
    case dsPending = "ds-pending"
    case active
    case retired
}

/// What a key signs: a CSK (combined signing key, flags 257) signs everything; with a split, the KSK
/// (flags 257, SEP) signs the DNSKEY RRset only and the ZSK (flags 256) every other RRset.
public enum DNSSECKeyRole: String, CaseIterable, Hashable, Sendable, Codable {
    case csk, ksk, zsk

    public var flags: UInt16 { self == .zsk ? 256 : 257 }
    public var signsKeys: Bool { self != .zsk }
    public var signsData: Bool { self != .ksk }
}

/// A zone's signing key, kept in the store (`dnssec_keys`) so that every node signs with the same keys.
/// The private key leaves the store only inside this value (to the snapshot's `ZoneSigner`): its
/// `description`, its mirror and its encoding (API, audit log, `cairn dnssec status`) never hold it.
public struct DNSSECKey: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The zone's origin: absolute, lower-case (`example.com.`).
    public var zone: String
    public var role: DNSSECKeyRole
    public var algorithm: DNSSECAlgorithm
    /// The public key as in DNSKEY RDATA (P-256: x ‖ y, 64 octets; Ed25519: 32 octets).
    public var publicKey: [UInt8]
    /// The private key's raw representation (P-256: the 32-octet scalar; Ed25519: the 32-octet seed).
    public var privateKey: [UInt8]
    /// Seconds since the Unix epoch.
    public var createdAt: Double
    /// Where the key is in its life (docs/dnssec.md "Key rollover"); `.active` outside a rollover.
    public var state: DNSSECKeyState = .active
    /// When the key entered `state` (seconds since the Unix epoch).
    public var stateSince: Double
    /// When a node's rollover task takes the key's next step (written by the daemon from the zone's TTLs);
    /// nil outside a rollover, while it waits for `ds-seen`, or until a node has worked it out.
    public var nextAt: Double?
    /// The operator's delays of the last rollover the key took part in (nil: none).
    public var rollover: RolloverDelays?

    /// At most this many signed zones in a store.
    public static let maxZones = 10_000

    public init(zone: String, role: DNSSECKeyRole, algorithm: DNSSECAlgorithm, publicKey: [UInt8], privateKey: [UInt8],
                createdAt: Double) {
        self.zone = zone; self.role = role; self.algorithm = algorithm
        self.publicKey = publicKey; self.privateKey = privateKey; self.createdAt = createdAt
        self.stateSince = createdAt
    }

    /// A new key pair drawn by swift-crypto.
    public static func generate(zone: String, role: DNSSECKeyRole, algorithm: DNSSECAlgorithm, now: Double) -> DNSSECKey {
        switch algorithm {
        case .ecdsap256sha256:
            let k = P256.Signing.PrivateKey()
            return DNSSECKey(zone: zone, role: role, algorithm: algorithm, publicKey: Array(k.publicKey.rawRepresentation),
                             privateKey: Array(k.rawRepresentation), createdAt: now)
        case .ed25519:
            let k = Curve25519.Signing.PrivateKey()
            return DNSSECKey(zone: zone, role: role, algorithm: algorithm, publicKey: Array(k.publicKey.rawRepresentation),
                             privateKey: Array(k.rawRepresentation), createdAt: now)
        }
    }

    public var flags: UInt16 { role.flags }

    /// DNSKEY RDATA (RFC 4034 §2.1): flags, protocol 3, algorithm, public key.
    public var dnskeyRdata: [UInt8] {
        [UInt8(flags >> 8), UInt8(flags & 0xff), 3, algorithm.number] + publicKey
    }

    /// The key tag (RFC 4034 Appendix B).
    public var keyTag: UInt16 { Self.keyTag(dnskeyRdata) }

    public static func keyTag(_ rdata: [UInt8]) -> UInt16 {
        var ac: UInt32 = 0
        for (i, b) in rdata.enumerated() { ac &+= (i & 1) == 1 ? UInt32(b) : UInt32(b) << 8 }
        ac &+= (ac >> 16) & 0xffff
        return UInt16(ac & 0xffff)
    }

    /// DS RDATA (RFC 4034 §5.1, RFC 4509): key tag, algorithm, digest type 2, SHA-256 of the owner's
    /// canonical wire form and the DNSKEY RDATA.
    public func dsRdata(owner: DomainName) -> [UInt8] {
        let digest = SHA256.hash(data: owner.key + dnskeyRdata)
        let tag = keyTag
        return [UInt8(tag >> 8), UInt8(tag & 0xff), algorithm.number, 2] + Array(digest)
    }

    /// The DS record in presentation form, for the parent (`example.com. 3600 IN DS 12345 13 2 ABCD…`).
    public var dsText: String {
        let ds = dsRdata(owner: (try? DomainName(zone)) ?? .root)
        return "\(zone) 3600 IN DS \(keyTag) \(algorithm.number) 2 \(ds[4...].map { String(format: "%02X", $0) }.joined())"
    }

    /// The DNSKEY record in presentation form (a trust anchor for `unbound`'s `trust-anchor:`).
    public var dnskeyText: String {
        "\(zone) 3600 IN DNSKEY \(flags) 3 \(algorithm.number) \(Data(publicKey).base64EncodedString())"
    }

    public var description: String { "DNSSEC \(role.rawValue) \(keyTag) (\(algorithm.rawValue)) of \(zone)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["zone": zone, "role": role.rawValue, "algorithm": algorithm.rawValue, "keyTag": keyTag])
    }

    /// The zone name checked and put in its stored form (lower-case, absolute).
    public static func normalizedZone(_ text: String) -> String? {
        guard let n = try? DomainName(text.hasSuffix(".") ? text : text + ".") else { return nil }
        return n.description.lowercased()
    }
}

extension DNSSECKey: Encodable {
    enum CodingKeys: String, CodingKey {
        case zone, keyTag = "key_tag", role, algorithm, flags, publicKey = "public_key", ds, createdAt = "created_at"
        case state, stateSince = "state_since", nextAt = "next_at", rollover
    }

    /// Everything but the private key.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(zone, forKey: .zone)
        try c.encode(Int(keyTag), forKey: .keyTag)
        try c.encode(role, forKey: .role)
        try c.encode(algorithm, forKey: .algorithm)
        try c.encode(Int(flags), forKey: .flags)
        try c.encode(Data(publicKey).base64EncodedString(), forKey: .publicKey)
        if role.signsKeys { try c.encode(dsText, forKey: .ds) }
        try c.encodeSeconds(createdAt, forKey: .createdAt, encoder)
        try c.encode(state, forKey: .state)
        try c.encodeSeconds(stateSince, forKey: .stateSince, encoder)
        try c.encodeSeconds(nextAt, forKey: .nextAt, encoder)
        try c.encodeIfPresent(rollover, forKey: .rollover)
    }
}
