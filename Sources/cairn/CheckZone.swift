import CairnDaemon
import ArgumentParser
import DNSWire
import Foundation
import ZoneFiles

struct CheckZone: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-zone",
        abstract: "Parse zone files (as ldns does) and run the semantic checks; non-zero exit on errors.")

    @Option(help: "Zone origin; default: from the file name (`example.com.zone`), else the SOA owner.")
    var origin: String?

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    @Argument(help: "Zone files.")
    var files: [String]

    func run() throws {
        var failed = false
        for f in files {
            var o: DomainName?
            if let origin {
                o = try DomainName(origin.hasSuffix(".") ? origin : origin + ".")
            } else {
                o = ZoneDirectorySource.origin(forFile: f)
            }
            // Every problem of the file in one run: each entry that does not parse (skipped), then the semantic
            // checks over the entries that did.
            let (zone, syntax) = ZoneFileLoader.check(path: f, origin: o)
            for e in syntax { print("\(e.file):\(e.line): error: \(e.message)") }
            let diags = zone.map(ZoneChecker.check) ?? []
            for d in diags { print(d) }
            let errors = syntax.count + diags.filter { $0.severity == .error }.count
            let warnings = diags.count - diags.filter { $0.severity == .error }.count
            if errors > 0 || (strict && warnings > 0) { failed = true }
            let origin = zone?.origin.description ?? o?.description ?? "-"
            print("\(f): zone \(origin) serial \(zone?.serial.map(String.init) ?? "-"), \(zone?.records.count ?? 0) records, \(errors) errors, \(warnings) warnings")
        }
        if failed { throw ExitCode(1) }
    }
}
