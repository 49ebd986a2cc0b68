import DNSWire
import Foundation
import GSLBCore
import Testing
@testable import ZoneFiles

@Suite struct ZoneDirectoryTests {
    @Test func aDirectoryWithOneGoodAndOneBadZoneYieldsOneZoneAndOneError() throws {
        let (zones, errors) = ZoneDirectory.load(directory: FixtureFiles.path("dir"))
        #expect(zones.map(\.origin) == [try DomainName("good.example.")])
        #expect(zones.first?.source == FixtureFiles.path("dir/good.example.zone"))
        #expect(errors.map(\.description) == [
            FixtureFiles.path("dir/bad.example.zone") + ":7: CNAME and other data at www.bad.example. (RFC 1034 §3.6.2)",
        ])
    }

    @Test func aSOAOwnerThatDiffersFromTheFileNameIsAnError() throws {
        let (zones, errors) = ZoneDirectory.load(directory: FixtureFiles.path("mismatch"))
        #expect(zones.isEmpty)
        let e = try #require(errors.first)
        #expect(e.file == FixtureFiles.path("mismatch/wrong.example.zone"))
        #expect(e.line == 3)
        #expect(e.message == "SOA owner right.example. differs from the zone name wrong.example. given by the file name")
    }

    @Test func duplicatesAreServedOnceAndReportedAsWarnings() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zf-dup-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try String(contentsOfFile: FixtureFiles.path("bad/duplicateRecord.zone"), encoding: .utf8)
            .write(toFile: dir + "/bad.example.zone", atomically: true, encoding: .utf8)
        let report = ZoneDirectory.report(directory: dir)
        #expect(report.errors.isEmpty)
        #expect(report.warnings.map(\.rule) == [.duplicateRecord])
        let zone = try #require(report.zones.first)
        #expect(zone.records.filter { $0.type == .a && $0.name == (try? DomainName("www.bad.example.")) }.count == 1)
        #expect(zone.lines.count == zone.records.count)
        #expect(zone.files.count == zone.records.count)
    }

    @Test func anUnreadableDirectoryIsOneError() {
        let (zones, errors) = ZoneDirectory.load(directory: FixtureFiles.path("nothere"))
        #expect(zones.isEmpty)
        #expect(errors.count == 1)
        #expect(errors.first?.message.hasPrefix("cannot list zone directory") == true)
    }

    /// The zones the conformance harness serves with NSD: Cairn must load exactly them.
    @Test func conformanceZonesLoadWithoutErrors() throws {
        let report = ZoneDirectory.report(directory: FixtureFiles.path("conformance"))
        #expect(report.errors.map(\.description) == [])
        #expect(report.zones.map(\.origin) == [try DomainName("conf.example."), try DomainName("other.test.")])
        let conf = try #require(report.zones.first)
        #expect(conf.serial == 2024010101)
        #expect(conf.records.filter { $0.name == (try? DomainName("big.conf.example.")) }.count == 40)
        #expect(conf.records.filter { $0.name == (try? DomainName("huge.conf.example.")) }.count == 20)
        let mixed = try #require(conf.index(of: "mixcase-cname.conf.example.", .cname))
        #expect(conf.records[mixed].name.wire == wire("MixCase-CNAME.conf.example."))
        #expect(conf.records[mixed].rdata == wire("WwW.CoNf.ExAmPlE."))
        let longtxt = try #require(conf.index(of: "longtxt.conf.example.", .txt))
        #expect(conf.records[longtxt].rdata.count == 4 * 256)
        #expect(conf.lines[longtxt] == 55)
        let ttl0 = try #require(conf.index(of: "ttl0.conf.example.", .a))
        #expect(conf.records[ttl0].ttl == 0)
    }

    @Test func conformanceZonesMatchNSDsReadingOfThem() throws {
        // Every entry of the files becomes one record: none lost, none invented.
        let zones = ZoneDirectory.load(directory: FixtureFiles.path("conformance")).zones
        #expect(zones.map(\.records.count) == [Self.recordCount("conf.example.zone"), Self.recordCount("other.test.zone")])
    }

    static func recordCount(_ file: String) -> Int {
        // Entries that are neither directives nor blank or comment lines, a multi-line
        // entry counting once (good enough for these two files: no ';' or '(' in quotes
        // starts an entry).
        let text = (try? String(contentsOfFile: FixtureFiles.path("conformance/" + file), encoding: .utf8)) ?? ""
        var count = 0, depth = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let code = line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let trimmed = code.trimmingCharacters(in: .whitespaces)
            if depth == 0 && !trimmed.isEmpty && !trimmed.hasPrefix("$") { count += 1 }
            depth += code.filter { $0 == "(" }.count - code.filter { $0 == ")" }.count
        }
        return count
    }
}
