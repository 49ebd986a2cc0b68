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
            do {
                let zone = try ZoneFileLoader.load(path: f, origin: o)
                let diags = ZoneChecker.check(zone)
                for d in diags { print(d) }
                let errors = diags.filter { $0.severity == .error }.count
                let warnings = diags.count - errors
                if errors > 0 || (strict && warnings > 0) { failed = true }
                print("\(f): zone \(zone.origin) serial \(zone.serial.map(String.init) ?? "-"), \(zone.records.count) records, \(errors) errors, \(warnings) warnings")
            } catch {
                print(error)
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}
