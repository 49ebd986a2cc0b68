import DNSWire
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

    /// Parses the master file at `path`.
    ///
    /// - Parameters:
    ///   - origin: the initial `$ORIGIN` and the zone apex; when nil, the owner of the
    ///     first SOA record becomes the apex.
    ///   - defaultTTL: the TTL of records that give none before any `$TTL` or explicit TTL.
    /// - Returns: every record in file order (duplicates included: `ZoneChecker` reports
    ///   them, `ZoneDirectory` drops them), with the line and file of each.
    /// - Throws: the first syntax error, with the file (of the `$INCLUDE` when inside
    ///   one) and line; "no SOA record" when the file has none.
    public static func load(path: String, origin: DomainName?, defaultTTL: UInt32 = 3600) throws(ZoneFileError) -> ZoneContent {
        var reader = MasterFileReader(defaultTTL: defaultTTL)
        try reader.read(path: path, origin: origin, ttl: MasterFileReader.TTLState(), includedAt: nil)
        guard let soa = reader.records.firstIndex(where: { $0.type == .soa }) else {
            throw ZoneFileError(file: path, line: 1, message: "no SOA record")
        }
        return ZoneContent(origin: origin ?? reader.records[soa].name, records: reader.records, source: path,
                           lines: reader.lines, files: reader.files)
    }
}
