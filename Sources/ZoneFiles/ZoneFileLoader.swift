import DNSWire
import Foundation
import GSLBCore

/// Reads RFC 1035 master files into `ZoneContent`, with ldns as the reference parser.
///
/// ldns tokenizes each entry (parentheses, comments, quotes) and parses each record
/// (every type it knows, RFC 3597 `\#`, escapes); this type handles the directives
/// itself (`$ORIGIN`, `$TTL`, `$INCLUDE`: ldns drops the text of an `$INCLUDE` line),
/// computes the exact first line of every entry, and rejects what ldns lets through
/// (unbalanced parentheses, unterminated quotes, unknown types). See `MasterFileReader`.
///
/// The plain entries of the common types are cut and read without ldns, giving the
/// same records (`EntryTokenizer`, `FastRecordParser`); every other entry, and every
/// entry with an error, still goes through ldns. `CAIRN_ZONE_READER=ldns` in the
/// environment sends every entry through ldns.
public enum ZoneFileLoader {
    /// How entries are read: `.fast` (plain entries of the common types without ldns,
    /// the rest through ldns) or `.ldns` (every entry through ldns).
    public enum Reader: String, Sendable {
        case fast, ldns

        /// `.ldns` when the environment has `CAIRN_ZONE_READER=ldns`, else `.fast`.
        public static let `default` = Reader(environment: ProcessInfo.processInfo.environment)

        /// `.ldns` when `environment` has `CAIRN_ZONE_READER=ldns`, else `.fast`.
        public init(environment: [String: String]) {
            self = environment["CAIRN_ZONE_READER"] == "ldns" ? .ldns : .fast
        }
    }

    /// Deepest `$INCLUDE` nesting accepted (the zone file itself is depth 0).
    public static let maxIncludeDepth = 10
    /// Largest file read, the zone file or one `$INCLUDE`d file: 256 MiB. A file is read
    /// whole into memory before ldns parses it; larger is refused before it is read.
    public static let maxFileBytes = 256 << 20
    /// Most octets read for one zone, its file and all its `$INCLUDE`s together (the same
    /// file included twice counts twice): 1 GiB.
    public static let maxZoneBytes = 1 << 30

    /// The size limits of one load (tests pass smaller ones).
    public struct Limits: Sendable, Hashable {
        public var maxFileBytes: Int
        public var maxZoneBytes: Int
        public init(maxFileBytes: Int = ZoneFileLoader.maxFileBytes, maxZoneBytes: Int = ZoneFileLoader.maxZoneBytes) {
            self.maxFileBytes = maxFileBytes
            self.maxZoneBytes = maxZoneBytes
        }
        public static let standard = Limits()
    }

    /// Parses the master file at `path`.
    ///
    /// - Parameters:
    ///   - origin: the initial `$ORIGIN` and the zone apex; when nil, the owner of the
    ///     first SOA record becomes the apex.
    ///   - defaultTTL: the TTL of records that give none before any `$TTL` or explicit TTL.
    ///   - includeRoot: the directory every `$INCLUDE` must resolve inside (after symlinks:
    ///     real paths are compared); default: the directory of `path`. `ZoneDirectory`
    ///     passes the directory it serves.
    ///   - limits: the size of one file, and of all the zone's files together.
    ///   - reader: `.ldns` to read every entry through ldns (the equivalence tests compare).
    /// - Returns: every record in file order (duplicates included: `ZoneChecker` reports
    ///   them, `ZoneDirectory` drops them), with the line and file of each.
    /// - Throws: the first syntax error, with the file (of the `$INCLUDE` when inside
    ///   one) and line; "no SOA record" when the file has none; a refused file (not a
    ///   regular file, too large, an `$INCLUDE` outside `includeRoot`), never read.
    public static func load(path: String, origin: DomainName?, defaultTTL: UInt32 = 3600, includeRoot: String? = nil,
                            limits: Limits = .standard, reader: Reader = .default) throws(ZoneFileError) -> ZoneContent {
        try read(path: path, origin: origin, defaultTTL: defaultTTL, includeRoot: includeRoot, limits: limits, reader: reader).zone
    }

    /// `load`, and how many records went through ldns's record parser.
    static func read(path: String, origin: DomainName?, defaultTTL: UInt32 = 3600, includeRoot: String? = nil,
                     limits: Limits = .standard, reader: Reader = .default) throws(ZoneFileError) -> (zone: ZoneContent, ldnsRecords: Int) {
        let root = includeRoot ?? directory(of: path)
        guard let realRoot = MasterFileReader.realPath(root) else {
            throw ZoneFileError(file: path, line: 0, message: "cannot resolve the zone directory \(root): \(String(cString: strerror(errno)))")
        }
        var file = MasterFileReader(defaultTTL: defaultTTL, includeRoot: realRoot, limits: limits, reader: reader)
        try file.read(path: path, origin: origin, ttl: MasterFileReader.TTLState(), includedAt: nil)
        guard let soa = file.records.firstIndex(where: { $0.type == .soa }) else {
            throw ZoneFileError(file: path, line: 1, message: "no SOA record")
        }
        let zone = ZoneContent(origin: origin ?? file.records[soa].name, records: file.records, source: path,
                               lines: file.lines, files: file.files)
        return (zone, file.ldnsRecords)
    }

    /// What `cairn check-zone` reports of the file at `path`: every entry that does not parse (skipped, and the
    /// reading goes on, as nsd-checkzone does; at most `MasterFileReader.maxErrors`, then it stops), a file that
    /// cannot be read, and "no SOA record"; and the zone made of the entries that did parse (nil without a SOA),
    /// for the semantic checks. Same arguments as `load`.
    public static func check(path: String, origin: DomainName?, defaultTTL: UInt32 = 3600, includeRoot: String? = nil,
                             limits: Limits = .standard, reader: Reader = .default) -> (zone: ZoneContent?, errors: [ZoneFileError]) {
        let root = includeRoot ?? directory(of: path)
        guard let realRoot = MasterFileReader.realPath(root) else {
            return (nil, [ZoneFileError(file: path, line: 0, message: "cannot resolve the zone directory \(root): \(String(cString: strerror(errno)))")])
        }
        var file = MasterFileReader(defaultTTL: defaultTTL, includeRoot: realRoot, limits: limits, reader: reader)
        file.collectErrors()
        var stopped: [ZoneFileError] = []
        do {
            try file.read(path: path, origin: origin, ttl: MasterFileReader.TTLState(), includedAt: nil)
        } catch {
            stopped.append(error)
        }
        let errors = (file.errors ?? []) + stopped
        guard let soa = file.records.firstIndex(where: { $0.type == .soa }) else {
            return (nil, errors + [ZoneFileError(file: path, line: 1, message: "no SOA record")])
        }
        return (ZoneContent(origin: origin ?? file.records[soa].name, records: file.records, source: path,
                            lines: file.lines, files: file.files), errors)
    }

    /// The directory part of `path` (`.` for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
