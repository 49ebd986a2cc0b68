import DNSWire
import Foundation

/// A client address without allocation: IPv4 in the low 32 bits of `lo`, or IPv6 as two 64-bit halves.
public struct ClientAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4, 6, or 0 when unknown.
    public var family: UInt8
    public var hi: UInt64
    public var lo: UInt64

    public static let unknown = ClientAddress(family: 0, hi: 0, lo: 0)

    public init(family: UInt8, hi: UInt64, lo: UInt64) { self.family = family; self.hi = hi; self.lo = lo }

    public init?(bytes: [UInt8]) {
        if bytes.count == 4 {
            self.init(family: 4, hi: 0, lo: UInt64(bytes[0]) << 24 | UInt64(bytes[1]) << 16 | UInt64(bytes[2]) << 8 | UInt64(bytes[3]))
        } else if bytes.count == 16 {
            var h: UInt64 = 0, l: UInt64 = 0
            for i in 0..<8 { h = h << 8 | UInt64(bytes[i]) }
            for i in 8..<16 { l = l << 8 | UInt64(bytes[i]) }
            self.init(family: 6, hi: h, lo: l)
        } else {
            return nil
        }
    }

    public init?(text: String) {
        if let b = IPAddressText.parseIPv4(text) { self.init(bytes: b) } else if let b = IPAddressText.parseIPv6(text) { self.init(bytes: b) } else { return nil }
    }

    public var maxPrefix: Int { family == 4 ? 32 : 128 }

    /// The address with every bit past `prefix` cleared.
    public func masked(_ prefix: Int) -> ClientAddress {
        if family == 4 {
            let p = max(0, min(prefix, 32))
            let mask: UInt64 = p == 0 ? 0 : (UInt64(0xFFFF_FFFF) << UInt64(32 - p)) & 0xFFFF_FFFF
            return ClientAddress(family: 4, hi: 0, lo: lo & mask)
        }
        let p = max(0, min(prefix, 128))
        let mh: UInt64 = p >= 64 ? ~0 : (p == 0 ? 0 : ~0 << UInt64(64 - p))
        let ml: UInt64 = p <= 64 ? 0 : (p == 128 ? ~0 : ~0 << UInt64(128 - p))
        return ClientAddress(family: 6, hi: hi & mh, lo: lo & ml)
    }

    public var bytes: [UInt8] {
        if family == 4 { return (0..<4).map { UInt8(truncatingIfNeeded: lo >> UInt64(24 - 8 * $0)) } }
        return (0..<8).map { UInt8(truncatingIfNeeded: hi >> UInt64(56 - 8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: lo >> UInt64(56 - 8 * $0)) }
    }

    public var description: String {
        switch family {
        case 4: return bytes.map(String.init).joined(separator: ".")
        case 6: return IPAddressText.ipv6(bytes)
        default: return "unknown"
        }
    }
}

/// `ADDRESS/PREFIX` with host bits zero.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public var address: ClientAddress
    public var prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = ClientAddress(text: String(parts[0])), let p = Int(parts[1]),
              p >= 0, p <= a.maxPrefix else { return nil }
        address = a
        prefix = p
    }

    public init(address: ClientAddress, prefix: Int) { self.address = address.masked(prefix); self.prefix = prefix }

    public var hasHostBits: Bool { address.masked(prefix) != address }
    public func contains(_ a: ClientAddress) -> Bool { a.family == address.family && a.masked(prefix) == address.masked(prefix) }
    public var description: String { "\(address)/\(prefix)" }
}

/// The network a decision is made for: the client's address, or its ECS subnet.
public struct ClientNetwork: Sendable, CustomStringConvertible {
    public var address: ClientAddress
    /// Prefix length known: 32/128 for a source address, the SOURCE PREFIX-LENGTH for ECS.
    public var prefix: Int
    public var fromECS: Bool

    public var description: String { fromECS ? "\(address.masked(prefix))/\(prefix) (ECS)" : "\(address)" }
}

/// Longest-prefix match of client networks to topology entries, precomputed.
public struct TopologyTable: Sendable {
    struct Level: Sendable {
        let prefix: Int
        let map: [ClientAddress: Int]
    }
    let v4: [Level]
    let v6: [Level]
    public let entries: [TopologyEntry]
    let longestV4: Int
    let longestV6: Int
    /// The GeoIP database and its map (`geoip:`), consulted when no entry matches.
    public let geo: GeoTopology?
    /// `entries`, then the GeoIP map's entries as topology entries (their place as the network text): the
    /// places `closest` orders members for, once per snapshot (index `entries.count + i` is map entry `i`).
    public let places: [TopologyEntry]

    public init(_ entries: [TopologyEntry], geo: GeoTopology? = nil) {
        var byLen4: [Int: [ClientAddress: Int]] = [:]
        var byLen6: [Int: [ClientAddress: Int]] = [:]
        for (i, e) in entries.enumerated() {
            guard let c = CIDR(e.network) else { continue }
            if c.address.family == 4 { byLen4[c.prefix, default: [:]][c.address.masked(c.prefix)] = i } else { byLen6[c.prefix, default: [:]][c.address.masked(c.prefix)] = i }
        }
        v4 = byLen4.keys.sorted(by: >).map { Level(prefix: $0, map: byLen4[$0]!) }
        v6 = byLen6.keys.sorted(by: >).map { Level(prefix: $0, map: byLen6[$0]!) }
        longestV4 = v4.first?.prefix ?? 0
        longestV6 = v6.first?.prefix ?? 0
        self.entries = entries
        self.geo = geo
        self.places = entries + (geo?.map.map(\.asTopologyEntry) ?? [])
    }

    /// The entry index and its prefix length for a client network, considering only
    /// entries no longer than what is known of the client.
    @inline(__always)
    public func match(_ n: ClientNetwork) -> (index: Int, prefix: Int)? {
        let levels = n.address.family == 4 ? v4 : (n.address.family == 6 ? v6 : [])
        for l in levels where l.prefix <= n.prefix {
            if let i = l.map[n.address.masked(l.prefix)] { return (i, l.prefix) }
        }
        return nil
    }

    /// The ECS scope for an answer that depends on the client but matched no entry:
    /// the answer holds for every address sharing the longest prefix the table could have used.
    public func unmatchedScope(_ n: ClientNetwork) -> Int {
        min(n.prefix, n.address.family == 4 ? longestV4 : longestV6)
    }

    /// The ECS scope of an answer the GeoIP database decided (or could have): the database network's prefix,
    /// or the longest entry prefix of the family when longer (an entry inside that network would answer
    /// otherwise), never longer than what is known of the client.
    @inline(__always)
    public func geoScope(_ n: ClientNetwork, _ r: GeoRecord) -> Int {
        min(n.prefix, max(r.prefix, n.address.family == 4 ? longestV4 : longestV6))
    }
}

/// The GeoIP database of a snapshot and its map, precomputed: a record's place to its map entry.
public struct GeoTopology: Sendable {
    public let database: any GeoDatabase
    public let map: [GeoIPMapEntry]
    let keys: [UInt64: Int]

    public init(database: any GeoDatabase, map: [GeoIPMapEntry]) {
        self.database = database
        self.map = map
        // A place given twice (the validator refuses it) answers with its first entry.
        self.keys = Dictionary(map.indices.compactMap { i in map[i].key.map { ($0, i) } }, uniquingKeysWith: { first, _ in first })
    }

    /// The map entry of a record: its subdivision's, else its country's, else its continent's.
    @inline(__always)
    public func match(_ r: GeoRecord) -> Int? {
        guard r.found, !keys.isEmpty else { return nil }
        if r.subdivision != 0, r.country != 0, let i = keys[GeoRecord.subdivisionKey(r.country, r.subdivision)] { return i }
        if r.country != 0, let i = keys[GeoRecord.countryKey(r.country)] { return i }
        if r.continent != 0, let i = keys[GeoRecord.continentKey(r.continent)] { return i }
        return nil
    }
}

/// `HOST:PORT` as listening lines and the node registry print it (`[::1]:53` for IPv6).
public func hostPort(_ host: String, _ port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

/// Great-circle distance in kilometres (haversine).
public func greatCircleKm(_ a: GeoPoint, _ b: GeoPoint) -> Double {
    let r = 6371.0
    let p1 = a.lat * .pi / 180, p2 = b.lat * .pi / 180
    let dp = (b.lat - a.lat) * .pi / 180, dl = (b.lon - a.lon) * .pi / 180
    let h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2)
    return 2 * r * asin(min(1, h.squareRoot()))
}
