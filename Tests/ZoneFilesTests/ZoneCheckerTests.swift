import DNSWire
import Foundation
import GSLBCore
import Testing
@testable import ZoneFiles

/// One broken zone per rule (as Knot's semantic-check tests do), each reported at the
/// record's file and line.
@Suite struct ZoneCheckerTests {
    typealias Rule = ZoneDiagnostic.Rule

    struct Case: Sendable, CustomStringConvertible {
        var rule: Rule
        var severity: ZoneDiagnostic.Severity
        var at: String
        var says: String
        /// Every rule the fixture triggers (most trigger only their own).
        var all: Set<Rule>
        var description: String { rule.rawValue }

        init(_ rule: Rule, _ severity: ZoneDiagnostic.Severity, _ at: String, _ says: String, also: Set<Rule> = []) {
            self.rule = rule; self.severity = severity; self.at = at; self.says = says
            self.all = also.union([rule])
        }
    }

    static let cases: [Case] = [
        Case(.missingApexSOA, .error, "bad/missingApexSOA.zone:5", "no SOA record at the zone apex bad.example.", also: [.soaNotAtApex]),
        Case(.multipleSOA, .error, "bad/multipleSOA.zone:7", "more than one SOA record at the zone apex"),
        Case(.soaNotAtApex, .error, "bad/soaNotAtApex.zone:7", "SOA record at sub.bad.example., not at the zone apex"),
        Case(.outOfZone, .error, "bad/outOfZone.zone:7", "out-of-zone data: www.other.example. A"),
        Case(.cnameAndOtherData, .error, "bad/cnameAndOtherData.zone:8", "CNAME and other data at www.bad.example."),
        Case(.multipleCNAME, .error, "bad/multipleCNAME.zone:8", "more than one CNAME record at www.bad.example."),
        Case(.cnameAtApex, .error, "bad/cnameAtApex.zone:7", "CNAME at the zone apex", also: [.cnameAndOtherData]),
        Case(.multipleDNAME, .error, "bad/multipleDNAME.zone:8", "more than one DNAME record at dn.bad.example."),
        Case(.dnameAndCNAME, .error, "bad/dnameAndCNAME.zone:8", "CNAME and DNAME at the same name dn.bad.example."),
        Case(.occludedByDNAME, .warning, "bad/inc/occluded.inc:2", "www.dn.bad.example. A is below the DNAME at dn.bad.example."),
        Case(.missingApexNS, .error, "bad/missingApexNS.zone:4", "no NS records at the zone apex"),
        Case(.missingGlue, .error, "bad/missingGlue.zone:7", "missing glue: NS target ns.sub.bad.example. of the delegation sub.bad.example."),
        Case(.occludedByDelegation, .warning, "bad/occludedByDelegation.zone:9", "www.sub.bad.example. A is occluded by delegation at sub.bad.example."),
        Case(.nsTargetIsCNAME, .error, "bad/nsTargetIsCNAME.zone:7", "NS target alias.bad.example. of sub.bad.example. is a CNAME"),
        Case(.nsTargetWithoutAddress, .warning, "bad/nsTargetWithoutAddress.zone:7", "NS target ns2.bad.example. of bad.example. is inside the zone but has no A or AAAA"),
        Case(.duplicateRecord, .warning, "bad/duplicateRecord.zone:8", "duplicate record WWW.bad.example. A 192.0.2.80"),
        Case(.ttlTooLarge, .error, "bad/ttlTooLarge.zone:7", "TTL 2147483648 of www.bad.example. A is above the maximum 2147483647"),
        Case(.rrsetTTLMismatch, .warning, "bad/rrsetTTLMismatch.zone:8", "TTL 600 differs from TTL 300 of the other www.bad.example. A records"),
        Case(.classNotIN, .error, "bad/classNotIN.zone:7", "class CH of version.bad.example. TXT"),
        Case(.targetIsCNAME, .warning, "bad/targetIsCNAME.zone:7", "MX target mail.bad.example. of bad.example. is a CNAME"),
        Case(.wildcardNS, .error, "bad/wildcardNS.zone:7", "NS record at the wildcard name *.wild.bad.example."),
        Case(.asteriskNotLeftmost, .warning, "bad/asteriskNotLeftmost.zone:7", "'*' is not the leftmost label of a.*.b.bad.example."),
    ]

    static func diagnostics(_ file: String) throws -> [ZoneDiagnostic] {
        ZoneChecker.check(try ZoneFileLoader.load(path: FixtureFiles.path(file), origin: try DomainName("bad.example.")))
    }

    @Test func everyRuleHasItsOwnBadFixture() {
        #expect(Set(Self.cases.map(\.rule)) == Set(Rule.allCases))
    }

    @Test(arguments: cases)
    func badFixtureIsReportedAtTheRecordFileAndLine(_ c: Case) throws {
        let file = String(c.at[..<c.at.lastIndex(of: ":")!])
        let fixture = file.hasPrefix("bad/inc/") ? "bad/occludedByDNAME.zone" : file
        let found = try Self.diagnostics(fixture)
        #expect(Set(found.map(\.rule)) == c.all, "\(found)")
        let d = try #require(found.first { $0.rule == c.rule })
        #expect(d.severity == c.severity)
        #expect("\(d.file):\(d.line)" == FixtureFiles.path(c.at))
        #expect(d.message.contains(c.says), "\(d)")
        #expect(d.description == "\(FixtureFiles.path(c.at)): \(c.severity.rawValue): \(d.message)")
    }

    @Test func srvTargetThatIsACNAMEIsReportedToo() throws {
        let found = try Self.diagnostics("bad/targetIsCNAME.zone").filter { $0.rule == .targetIsCNAME }
        #expect(found.map(\.line) == [7, 9])
        #expect(found.last?.message.hasPrefix("SRV target mail.bad.example.") == true)
    }

    @Test func aZoneWithoutRecordsLacksSOAAndNS() throws {
        let zone = ZoneContent(origin: try DomainName("empty.example."), records: [], source: "empty.zone")
        #expect(ZoneChecker.check(zone).map(\.description) == [
            "empty.zone:1: error: no SOA record at the zone apex empty.example.",
            "empty.zone:1: error: no NS records at the zone apex empty.example.",
        ])
    }

    @Test func rrsigAndNSECMayShareANameWithACNAME() throws {
        let o = try DomainName("x.example.")
        let www = try DomainName("www.x.example.")
        let soa = ResourceRecord(name: o, type: .soa, ttl: 60, rdata: o.wire + o.wire + Array(repeating: 0, count: 20))
        let zone = ZoneContent(origin: o, records: [
            soa,
            ResourceRecord(name: o, type: .ns, ttl: 60, rdata: try DomainName("ns.other.").wire),
            ResourceRecord(name: www, type: .cname, ttl: 60, rdata: o.wire),
            ResourceRecord(name: www, type: .rrsig, ttl: 60, rdata: [0, 5, 8, 3] + Array(repeating: 0, count: 14) + o.wire),
            ResourceRecord(name: www, type: .nsec, ttl: 60, rdata: o.wire + [0, 1, 0x04]),
        ])
        #expect(ZoneChecker.check(zone).isEmpty)
    }

    /// Duplicates and TTLs within RRsets of several records: a repeat of a set's first record after
    /// another record of the set is found (the first joins the duplicate set only when a second record
    /// comes), a repeat is not also a TTL mismatch, a mismatch is reported once per set, RRSIGs' TTLs are
    /// never compared, and the same RDATA under another type is no repeat.
    @Test func duplicatesAndTTLsWithinSetsOfSeveralRecords() throws {
        let o = try DomainName("x.example.")
        let www = try DomainName("www.x.example.")
        let soa = ResourceRecord(name: o, type: .soa, ttl: 60, rdata: o.wire + o.wire + Array(repeating: 0, count: 20))
        func a(_ last: UInt8, ttl: UInt32 = 300) -> ResourceRecord { ResourceRecord(name: www, type: .a, ttl: ttl, rdata: [192, 0, 2, last]) }
        let sig = [0, 5, 8, 3] + Array(repeating: 0, count: 14) + o.wire
        let records = [
            soa,                                                                        // 0
            ResourceRecord(name: o, type: .ns, ttl: 60, rdata: try DomainName("ns.other.").wire),
            a(1), a(2),                                                                 // 2, 3
            a(1),                                                                       // 4: repeats 2
            a(2, ttl: 999),                                                             // 5: repeats 3 (TTL aside)
            a(3, ttl: 600),                                                             // 6: TTL mismatch
            a(4, ttl: 900),                                                             // 7: not reported again
            ResourceRecord(name: www, type: .rrsig, ttl: 300, rdata: sig),              // 8
            ResourceRecord(name: www, type: .rrsig, ttl: 100, rdata: sig + [1]),        // 9: RRSIG TTLs differ freely
            ResourceRecord(name: www, type: .rrsig, ttl: 300, rdata: sig),              // 10: repeats 8
            ResourceRecord(name: www, type: .txt, ttl: 300, rdata: [192, 0, 2, 1]),     // 11: another type
        ]
        let zone = ZoneContent(origin: o, records: records, source: "x.zone", lines: Array(1...records.count))
        let (diagnostics, duplicates) = ZoneChecker.run(zone)
        #expect(duplicates == [4, 5, 10])
        #expect(diagnostics.map { "\($0.line) \($0.rule)" } == [
            "5 duplicateRecord", "6 duplicateRecord", "7 rrsetTTLMismatch", "11 duplicateRecord",
        ])
        #expect(diagnostics[2].message == "TTL 600 differs from TTL 300 of the other www.x.example. A records (RFC 2181 §5.2)")
        var served = zone
        ZoneDirectory.removeRecords(at: duplicates, from: &served)
        #expect(served.records.count == records.count - 3)
        #expect(served.lines == [1, 2, 3, 4, 7, 8, 9, 10, 12])
    }
}
