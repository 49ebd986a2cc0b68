import DNSWire
import Foundation
import GSLBCore

/// A directory of `<zone name>.zone` files (`example.com.zone` holds `example.com.`).
public enum ZoneDirectory {
    public static let fileExtension = ".zone"

    /// Loads every `*.zone` file of `directory` (sorted by name). A file that fails to
    /// parse, whose SOA owner is not the name its file gives, or with a check error, is
    /// reported in `errors` and left out of `zones`.
    public static func load(directory: String) -> (zones: [ZoneContent], errors: [ZoneFileError]) {
        let r = report(directory: directory)
        return (r.zones, r.errors)
    }

    /// `load(directory:)` with the check warnings too.
    public static func report(directory: String) -> ZoneDirectoryReport {
        var out = ZoneDirectoryReport(zones: [], errors: [], warnings: [])
        let files: [(name: String, path: String)]
        do {
            files = try zoneFiles(in: directory)
        } catch {
            out.errors.append(ZoneFileError(file: directory, line: 0, message: "cannot list zone directory: \(error.localizedDescription)"))
            out.listed = false
            return out
        }
        for (name, path) in files {
            switch loadZone(path: path, fileName: name, includeRoot: directory) {
            case .success(let (zone, warnings)):
                out.zones.append(zone)
                out.warnings += warnings
            case .failure(let failure):
                out.errors += failure.errors.map { e in var e = e; e.zoneFile = path; return e }
                out.warnings += failure.warnings
            }
        }
        return out
    }

    /// The zone files of `directory` (`*.zone`, not directories), sorted by name.
    public static func zoneFiles(in directory: String) throws -> [(name: String, path: String)] {
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            .filter { $0.hasSuffix(fileExtension) && $0.count > fileExtension.count }.map { ($0, base + $0) }
            .filter { var isDir: ObjCBool = false; return FileManager.default.fileExists(atPath: $0.path, isDirectory: &isDir) && !isDir.boolValue }
    }

    struct Failure: Error {
        var errors: [ZoneFileError]
        var warnings: [ZoneDiagnostic] = []
    }

    /// Parses, matches the SOA owner to the file name, checks, and drops duplicates.
    /// `$INCLUDE`s must resolve inside `includeRoot` (the directory served).
    static func loadZone(path: String, fileName: String, includeRoot: String) -> Result<(ZoneContent, [ZoneDiagnostic]), Failure> {
        var zoneName = String(fileName.dropLast(fileExtension.count))
        if zoneName.hasSuffix(".") { zoneName.removeLast() }
        let origin: DomainName
        do {
            origin = zoneName.isEmpty ? .root : try DomainName(zoneName + ".")
        } catch {
            return .failure(Failure(errors: [ZoneFileError(file: path, line: 0, message: "file name does not give a zone name: \(error)")]))
        }
        var zone: ZoneContent
        do {
            zone = try ZoneFileLoader.load(path: path, origin: origin, includeRoot: includeRoot)
        } catch {
            return .failure(Failure(errors: [error]))
        }
        var errors: [ZoneFileError] = []
        if let i = zone.records.firstIndex(where: { $0.type == .soa }), zone.records[i].name != origin {
            errors.append(ZoneFileError(file: i < zone.files.count ? zone.files[i] : path, line: i < zone.lines.count ? zone.lines[i] : 0,
                                        message: "SOA owner \(zone.records[i].name) differs from the zone name \(origin) given by the file name"))
        }
        let (diagnostics, duplicates) = ZoneChecker.run(zone)
        errors += diagnostics.filter { $0.severity == .error }.map { ZoneFileError(file: $0.file, line: $0.line, message: $0.message) }
        let warnings = diagnostics.filter { $0.severity == .warning }
        guard errors.isEmpty else { return .failure(Failure(errors: errors, warnings: warnings)) }
        removeRecords(at: duplicates, from: &zone)
        return .success((zone, warnings))
    }

    /// NSD keeps one copy of a record given twice; so do we: drops the records at `positions`
    /// (ascending), the repeats the checker found and warned of.
    static func removeRecords(at positions: [Int], from zone: inout ZoneContent) {
        guard !positions.isEmpty else { return }
        let drop = Set(positions)
        let keep = zone.records.indices.filter { !drop.contains($0) }
        zone.records = keep.map { zone.records[$0] }
        if !zone.lines.isEmpty { zone.lines = keep.compactMap { $0 < zone.lines.count ? zone.lines[$0] : nil } }
        if !zone.files.isEmpty { zone.files = keep.compactMap { $0 < zone.files.count ? zone.files[$0] : nil } }
    }
}
