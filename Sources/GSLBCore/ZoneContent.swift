import DNSWire

/// One zone as loaded from its master file: the input of `SnapshotBuilder`.
/// Produced by `ZoneFiles` (through ldns); GSLBCore never reads files.
public struct ZoneContent: Sendable {
    /// The zone apex.
    public var origin: DomainName
    /// Every record of the zone, in file order.
    public var records: [ResourceRecord]
    /// Where it came from (for logs and `/v1/zones`), e.g. `zones/example.com.zone`.
    public var source: String
    /// The source line of each record (same index as `records`), for diagnostics; may be empty.
    public var lines: [Int]
    /// The file each record came from (same index as `records`): differs from `source`
    /// for records read through `$INCLUDE`; may be empty (then every record is from `source`).
    public var files: [String]

    public init(origin: DomainName, records: [ResourceRecord], source: String = "", lines: [Int] = [],
                files: [String] = []) {
        self.origin = origin
        self.records = records
        self.source = source
        self.lines = lines
        self.files = files
    }

    /// The SOA serial, when the zone has an SOA at its apex.
    public var serial: UInt32? {
        records.first { $0.type == .soa && $0.name == origin }?.soa?.serial
    }
}
