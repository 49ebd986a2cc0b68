import CairnDaemon
import ArgumentParser
import DNSWire
import GSLBCore
import ZoneFiles

struct CheckZone: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-zone",
        abstract: "Parse zone files (as ldns does) and run the semantic checks; non-zero exit on errors.")

    @Option(help: "Zone origin; default: from the file name (`example.com.zone`), else the SOA owner.")
    var origin: String?

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    @Flag(help: "One JSON document: per file its zone, serial, records, and every problem with file, line, level, rule and message.")
    var json = false

    @Argument(help: "Zone files.")
    var files: [String]

    /// One problem of a file, as `--json` prints it.
    struct Problem: Encodable {
        var file: String
        var line: Int
        var level: String
        /// The semantic check's rule (`ZoneDiagnostic.Rule`); `syntax` for an entry that does not parse.
        var rule: String
        var message: String
    }

    /// One file, as `--json` prints it.
    struct FileReport: Encodable {
        var file: String
        var zone: String?
        var serial: UInt32?
        var records: Int
        var errors: Int
        var warnings: Int
        var problems: [Problem]
    }

    func run() throws {
        var failed = false
        var reports: [FileReport] = []
        for f in files {
            let o = try origin.map { try DomainName($0.hasSuffix(".") ? $0 : $0 + ".") } ?? ZoneDirectorySource.origin(forFile: f)
            // Every problem of the file in one run: each entry that does not parse (skipped), then the semantic
            // checks over the entries that did.
            let (zone, syntax) = ZoneFileLoader.check(path: f, origin: o)
            let diags = zone.map(ZoneChecker.check) ?? []
            let problems = syntax.map { Problem(file: $0.file, line: $0.line, level: "error", rule: "syntax", message: $0.message) }
                + diags.map { Problem(file: $0.file, line: $0.line, level: $0.severity.rawValue, rule: $0.rule.rawValue, message: $0.message) }
            let errors = problems.filter { $0.level == "error" }.count
            let warnings = problems.count - errors
            if errors > 0 || (strict && warnings > 0) { failed = true }
            let origin = zone?.origin.description ?? o?.description
            if json {
                reports.append(FileReport(file: f, zone: origin, serial: zone?.serial, records: zone?.records.count ?? 0,
                                          errors: errors, warnings: warnings, problems: problems))
                continue
            }
            for p in problems { print("\(p.file):\(p.line): \(p.level): \(p.message)") }
            print("\(f): zone \(origin ?? "-") serial \(zone?.serial.map(String.init) ?? "-"), \(zone?.records.count ?? 0) records, \(errors) errors, \(warnings) warnings")
        }
        if json { print(JSONValue(encoding: ["files": reports]).compactText) }
        if failed { throw ExitCode(1) }
    }
}
