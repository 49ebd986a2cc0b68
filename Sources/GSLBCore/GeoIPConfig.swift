/// `geoip:` of the configuration: a MaxMind DB file (`.mmdb`: GeoIP2/GeoLite2 Country or City, DB-IP Lite, any
/// database with MaxMind's `continent.code`, `country.iso_code`, `subdivisions[0].iso_code` and `location`
/// fields) and what its places map to. Hand-written topology entries win when they match; then the most
/// specific map entry of the client's record (subdivision, country, continent); then, for `closest`, the
/// record's coordinates.
public struct GeoIPConfig: Hashable, Sendable, Codable {
    /// The database file: a name inside `cairn serve --geoip-dir`, or an absolute path inside it.
    public var database: String
    public var map: [GeoIPMapEntry]
    public init(database: String, map: [GeoIPMapEntry] = []) { self.database = database; self.map = map }

    /// At most this many map entries (ISO 3166-2 has about 5,000 subdivisions).
    public static let maxMapEntries = 10_000
    /// A database file larger than this is refused (it is mapped into memory, not read; GeoLite2-City is about
    /// 60 MB, DB-IP City Lite about 130 MB).
    public static let maxDatabaseBytes = 1 << 30
    /// The seven continent codes of MaxMind's `continent.code`.
    public static let continents: Set<String> = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"]
}

/// One place of the database (exactly one of `continent`, `country`, `subdivision`) mapped to a region, a site
/// or a location (exactly one), as a topology entry maps a network.
public struct GeoIPMapEntry: Hashable, Sendable, Codable {
    /// `EU`: MaxMind's continent code.
    public var continent: String?
    /// `DE`: ISO 3166-1 alpha-2.
    public var country: String?
    /// `US-CA`: ISO 3166-2 (country, `-`, the database's `subdivisions[0].iso_code`).
    public var subdivision: String?
    public var region: String?
    public var site: String?
    public var location: GeoPoint?

    public init(continent: String? = nil, country: String? = nil, subdivision: String? = nil,
                region: String? = nil, site: String? = nil, location: GeoPoint? = nil) {
        self.continent = continent; self.country = country; self.subdivision = subdivision
        self.region = region; self.site = site; self.location = location
    }

    enum CodingKeys: String, ConfigCodingKeys {
        case continent, country, subdivision, region, site, location
        static let what = "a GeoIP map entry"
    }

    /// `country DE`, `continent EU`, `subdivision US-CA`.
    public var place: String {
        if let c = subdivision { return "subdivision \(c)" }
        if let c = country { return "country \(c)" }
        return "continent \(continent ?? "?")"
    }

    /// The key of the place, as `GeoRecord` keys are built (nil when the code is malformed).
    public var key: UInt64? {
        if let s = subdivision {
            let parts = s.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0].utf8.count == 2, (1...3).contains(parts[1].utf8.count),
                  parts.allSatisfy({ $0.utf8.allSatisfy(GeoRecord.isCodeByte) }) else { return nil }
            return GeoRecord.subdivisionKey(GeoRecord.pack(Array(parts[0].utf8)), GeoRecord.pack(Array(parts[1].utf8)))
        }
        if let c = country {
            guard c.utf8.count == 2, c.utf8.allSatisfy(GeoRecord.isCodeByte) else { return nil }
            return GeoRecord.countryKey(GeoRecord.pack(Array(c.utf8)))
        }
        if let c = continent {
            guard GeoIPConfig.continents.contains(c) else { return nil }
            return GeoRecord.continentKey(GeoRecord.pack(Array(c.utf8)))
        }
        return nil
    }

    /// The entry as the topology entry it acts as (its place as the network text, for explain).
    var asTopologyEntry: TopologyEntry { TopologyEntry(network: place, region: region, site: site, location: location) }
}

/// What a GeoIP database says about one address, read without allocation: codes packed into integers
/// (ASCII bytes, big-endian), 0 when absent.
public struct GeoRecord: Hashable, Sendable {
    /// The address was in the database's tree with data.
    public var found: Bool
    /// The database network's prefix length that holds the address (in the address's family).
    public var prefix: Int
    public var continent: UInt32
    public var country: UInt32
    /// The database's `subdivisions[0].iso_code` (without the country).
    public var subdivision: UInt32
    public var location: GeoPoint?

    public init(found: Bool, prefix: Int, continent: UInt32 = 0, country: UInt32 = 0, subdivision: UInt32 = 0,
                location: GeoPoint? = nil) {
        self.found = found; self.prefix = prefix; self.continent = continent; self.country = country
        self.subdivision = subdivision; self.location = location
    }

    /// A byte a code may have: `A`-`Z` or `0`-`9` (inlined into the database reader's lookups).
    @inlinable public static func isCodeByte(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) }

    /// Up to 3 ASCII bytes as an integer; 0 for none.
    public static func pack(_ bytes: [UInt8]) -> UInt32 { bytes.prefix(3).reduce(0) { $0 << 8 | UInt32($1) } }
    public static func unpack(_ v: UInt32) -> String {
        String(decoding: withUnsafeBytes(of: v.bigEndian) { Array($0.drop(while: { $0 == 0 })) }, as: UTF8.self)
    }

    @inline(__always) static func continentKey(_ c: UInt32) -> UInt64 { 1 << 56 | UInt64(c) }
    @inline(__always) static func countryKey(_ c: UInt32) -> UInt64 { 2 << 56 | UInt64(c) }
    @inline(__always) static func subdivisionKey(_ c: UInt32, _ s: UInt32) -> UInt64 { 3 << 56 | UInt64(c) << 24 | UInt64(s) }

    public var continentCode: String? { continent == 0 ? nil : Self.unpack(continent) }
    public var countryCode: String? { country == 0 ? nil : Self.unpack(country) }
    /// ISO 3166-2: `US-CA`.
    public var subdivisionCode: String? {
        subdivision == 0 ? nil : (country == 0 ? Self.unpack(subdivision) : "\(Self.unpack(country))-\(Self.unpack(subdivision))")
    }
}

/// An open GeoIP database. Lookups read only immutable (mapped) memory: safe from any thread, no lock, no I/O
/// beyond page faults of the mapped file.
public protocol GeoDatabase: AnyObject, Sendable {
    /// The record of `address` (bits past the client's known prefix already zero).
    func lookup(_ address: ClientAddress) -> GeoRecord
    /// The file it was opened from.
    var path: String { get }
    /// `GeoLite2-City, built 2026-12-01T00:00:00Z`: for explain and the logs.
    var summary: String { get }
}

/// A `GeoDatabase` compared by identity: the snapshot's state changes when another file is opened.
public struct GeoDatabaseRef: Hashable, Sendable {
    public let database: any GeoDatabase
    public init(_ database: any GeoDatabase) { self.database = database }
    public static func == (a: GeoDatabaseRef, b: GeoDatabaseRef) -> Bool { a.database === b.database }
    public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(database)) }
}
