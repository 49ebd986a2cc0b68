import DNSWire
import GSLBCore
import ZoneFiles

/// The composition root's adapter: `zones/` read through ldns (ZoneFiles).
public struct ZoneDirectorySource: ZoneSource {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public func loadZones() -> ZoneLoadResult {
        let r = ZoneDirectory.report(directory: directory)
        return ZoneLoadResult(zones: r.zones, failures: r.errors.map { e in
            ZoneLoadResult.Failure(origin: ZoneDirectorySource.origin(forFile: e.zoneFile ?? e.file), message: e.description)
        }, complete: r.listed)
    }

    /// `dir/example.com.zone` → `example.com.`
    public static func origin(forFile path: String) -> DomainName? {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        guard base.hasSuffix(".zone") else { return nil }
        return try? DomainName(String(base.dropLast(5)) + ".")
    }
}
