import DNSWire
import Foundation
import GSLBCore

/// Reads RFC 1035 master files into `ZoneContent`, through ldns.
///
/// ldns tokenizes each entry (parentheses, comments, quotes) and parses each record
/// (every type it knows, RFC 3597 `\#`, escapes); this type handles the directives
/// itself (`$ORIGIN`, `$TTL`, `$INCLUDE`: ldns drops the text of an `$INCLUDE` line),
/// computes the exact first line of every entry, and rejects what ldns lets through
/// (unbalanced parentheses, unterminated quotes, unknown types). See `MasterFileReader`.
public enum ZoneFileLoader {
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
    /// - Returns: every record in file order (duplicates included: `ZoneChecker` reports
    ///   them, `ZoneDirectory` drops them), with the line and file of each.
    /// - Throws: the first syntax error, with the file (of the `$INCLUDE` when inside
    ///   one) and line; "no SOA record" when the file has none; a refused file (not a
    ///   regular file, too large, an `$INCLUDE` outside `includeRoot`), never read.
    public static func load(path: String, origin: DomainName?, defaultTTL: UInt32 = 3600, includeRoot: String? = nil,
                            limits: Limits = .standard) throws(ZoneFileError) -> ZoneContent {
        let root = includeRoot ?? directory(of: path)
        guard let realRoot = MasterFileReader.realPath(root) else {
            throw ZoneFileError(file: path, line: 0, message: "cannot resolve the zone directory \(root): \(String(cString: strerror(errno)))")
        }
        var reader = MasterFileReader(defaultTTL: defaultTTL, includeRoot: realRoot, limits: limits)
        try reader.read(path: path, origin: origin, ttl: MasterFileReader.TTLState(), includedAt: nil)
        guard let soa = reader.records.firstIndex(where: { $0.type == .soa }) else {
            throw ZoneFileError(file: path, line: 1, message: "no SOA record")
        }
        return ZoneContent(origin: origin ?? reader.records[soa].name, records: reader.records, source: path,
                           lines: reader.lines, files: reader.files)
    }

    /// The directory part of `path` (`.` for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
