import DNSWire
import Foundation
import GSLBCore
import Testing
@testable import ZoneFiles

/// Each broken file is reported at the file (the `$INCLUDE`d one when the error is
/// there) and line of the faulty entry, with a reason.
@Suite struct ZoneFileSyntaxTests {
    typealias Case = BrokenZoneFixture

    static let cases: [Case] = [
        Case(file: "syntax/bad-rdata.zone", at: "syntax/bad-rdata.zone:6", reason: "cannot parse A record \"bad IN A 192.0.2.300\""),
        Case(file: "syntax/unknown-type.zone", at: "syntax/unknown-type.zone:6", reason: "unknown RR type FOO"),
        Case(file: "syntax/unclosed-paren.zone", at: "syntax/unclosed-paren.zone:6", reason: "'(' is never closed"),
        Case(file: "syntax/extra-paren.zone", at: "syntax/extra-paren.zone:6", reason: "')' without a matching '('"),
        Case(file: "syntax/unterminated-quote.zone", at: "syntax/unterminated-quote.zone:6", reason: "unterminated quoted string"),
        Case(file: "syntax/in-include.zone", at: "syntax/inc/broken.inc:3", reason: "cannot parse MX record"),
        Case(file: "syntax/missing-include.zone", at: "syntax/missing-include.zone:6", reason: "cannot open $INCLUDE file"),
        Case(file: "syntax/bad-ttl-directive.zone", at: "syntax/bad-ttl-directive.zone:6", reason: "bad $TTL value soon"),
        Case(file: "syntax/unknown-directive.zone", at: "syntax/unknown-directive.zone:6", reason: "unknown directive $GENERATE"),
        Case(file: "syntax/ttl-overflow.zone", at: "syntax/ttl-overflow.zone:6", reason: "TTL 99999999999 does not fit in 32 bits"),
        Case(file: "syntax/no-soa.zone", at: "syntax/no-soa.zone:1", reason: "no SOA record"),
        Case(file: "syntax/empty.zone", at: "syntax/empty.zone:1", reason: "no SOA record"),
        Case(file: "loop/a.zone", at: "loop/b.inc:2", reason: "$INCLUDE loop"),
    ]

    static func failure(_ file: String) -> ZoneFileError? {
        do {
            _ = try ZoneFileLoader.load(path: FixtureFiles.path(file), origin: nil)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: cases)
    func brokenFileIsReportedAtFileAndLineWithItsReason(_ c: Case) throws {
        let error = try #require(Self.failure(c.file), "\(c.file) loaded")
        #expect(error.description.hasPrefix(FixtureFiles.path(c.at) + ": "), "\(error)")
        #expect(error.message.contains(c.reason), "\(error)")
    }

    @Test func rdataErrorsQuoteTheLdnsReason() throws {
        let error = try #require(Self.failure("syntax/bad-rdata.zone"))
        #expect(error.message.contains("could not parse the RR's rdata"), "\(error)")
    }

    @Test func includeLoopNamesEveryFileOfTheCycle() throws {
        let error = try #require(Self.failure("loop/a.zone"))
        let a = FixtureFiles.path("loop/a.zone"), b = FixtureFiles.path("loop/b.inc")
        #expect(error.message == "$INCLUDE loop: \(a) -> \(b) -> \(a)")
    }

    @Test func includesNestedDeeperThanTenLevelsAreRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zf-depth-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let soa = "$ORIGIN deep.example.\n@ 3600 IN SOA ns1 hm 1 2 3 4 5\n@ 3600 IN NS ns1\n"
        try (soa + "$INCLUDE d1.inc\n").write(toFile: dir + "/deep.zone", atomically: true, encoding: .utf8)
        for d in 1...11 {
            try "h\(d) 3600 IN A 192.0.2.\(d)\n$INCLUDE d\(d + 1).inc\n".write(toFile: dir + "/d\(d).inc", atomically: true, encoding: .utf8)
        }
        try "last 3600 IN A 192.0.2.99\n".write(toFile: dir + "/d12.inc", atomically: true, encoding: .utf8)
        do {
            _ = try ZoneFileLoader.load(path: dir + "/deep.zone", origin: nil)
            Issue.record("12 levels of $INCLUDE loaded")
        } catch {
            #expect(error.file == dir + "/d10.inc")
            #expect(error.line == 2)
            #expect(error.message.contains("nested deeper than 10 levels"))
        }
        // Ten levels are fine.
        try "last 3600 IN A 192.0.2.99\n".write(toFile: dir + "/d10.inc", atomically: true, encoding: .utf8)
        let zone = try ZoneFileLoader.load(path: dir + "/deep.zone", origin: nil)
        #expect(zone.records.count == 2 + 9 + 1)
    }

    @Test func missingFileIsAnError() {
        #expect(throws: ZoneFileError.self) {
            try ZoneFileLoader.load(path: FixtureFiles.path("nothere.zone"), origin: nil)
        }
    }
}
