import DNSWire
import Foundation
import GSLBCore
import Testing
@testable import ZoneFiles

@Suite struct ZoneFileLoaderTests {
    let zone: ZoneContent
    let path = FixtureFiles.path("good/example.com.zone")

    init() throws {
        zone = try ZoneFileLoader.load(path: FixtureFiles.path("good/example.com.zone"), origin: nil)
    }

    func rdata(_ name: String, _ type: RecordType) throws -> [UInt8] {
        let i = try #require(zone.index(of: name, type), "no \(name) \(type)")
        return zone.records[i].rdata
    }

    func place(_ name: String, _ type: RecordType) throws -> String {
        let i = try #require(zone.index(of: name, type), "no \(name) \(type)")
        let file = String(zone.files[i].dropFirst(FixtureFiles.root.count + 1))
        return "\(file):\(zone.lines[i])"
    }

    @Test func originComesFromTheFirstSOAWhenNotGiven() throws {
        #expect(zone.origin == (try DomainName("example.com.")))
        #expect(zone.source == path)
        #expect(zone.serial == 2024010101)
    }

    @Test func everyRecordOfFileAndIncludesIsLoadedInFileOrder() {
        #expect(zone.records.count == 29)
        #expect(zone.lines.count == 29)
        #expect(zone.files.count == 29)
        #expect(zone.records.first?.type == .soa)
        #expect(zone.records.last?.name == (try? DomainName("zero.example.com.")))
    }

    @Test func eachRecordCarriesTheFileAndFirstLineOfItsEntry() throws {
        #expect(try place("example.com.", .soa) == "good/example.com.zone:4")
        #expect(try place("example.com.", .ns) == "good/example.com.zone:7")
        #expect(try place("example.com.", .mx) == "good/example.com.zone:9")
        #expect(try place("txt.example.com.", .txt) == "good/example.com.zone:15")
        #expect(try place("_443._tcp.www.example.com.", .tlsa) == "good/example.com.zone:22")
        #expect(try place("www.example.com.", .a) == "good/example.com.zone:25")
        #expect(try place("h1.hosts.example.com.", .a) == "good/inc/hosts.inc:3")
        #expect(try place("h2.hosts.example.com.", .aaaa) == "good/inc/hosts.inc:4")
        #expect(try place("after.example.com.", .a) == "good/example.com.zone:32")
        #expect(try place("lab.example.com.", .txt) == "good/inc/lab.inc:1")
        #expect(try place("zero.example.com.", .a) == "good/example.com.zone:36")
    }

    @Test func includeOriginsApplyInsideTheIncludeOnly() throws {
        #expect(zone.index(of: "h1.hosts.example.com.", .a) != nil)
        #expect(zone.index(of: "after.example.com.", .a) != nil)
        #expect(zone.index(of: "srv.lab.example.com.", .a) != nil)
    }

    @Test func ownerlessEntriesTakeThePreviousOwner() throws {
        let ns = zone.records.filter { $0.type == .ns && $0.name == zone.origin }
        #expect(ns.map(\.rdata) == [wire("ns1.example.com."), wire("ns2.example.com.")])
    }

    @Test func ttlsFollowExplicitValuesAndTheTTLDirective() throws {
        func ttl(_ n: String, _ t: RecordType) throws -> UInt32 { zone.records[try #require(zone.index(of: n, t))].ttl }
        #expect(try ttl("www.example.com.", .a) == 3600)
        #expect(try ttl("mail.example.com.", .a) == 300)
        #expect(try ttl("ns1.example.com.", .a) == 3600)
        #expect(try ttl("cls.example.com.", .a) == 60) // "IN 60 A": class before TTL
        #expect(try ttl("zero.example.com.", .a) == 0) // after "$TTL 0"
    }

    @Test func namesKeepTheirCaseInOwnerAndRData() throws {
        let i = try #require(zone.index(of: "mixed.example.com.", .cname))
        #expect(zone.records[i].name.wire == wire("MiXeD.example.com."))
        #expect(zone.records[i].rdata == wire("WwW.example.com."))
    }

    @Test func addressAndMailRDataAreExactBytes() throws {
        #expect(try rdata("www.example.com.", .a) == [192, 0, 2, 80])
        #expect(try rdata("example.com.", .mx) == [0, 10] + wire("mail.example.com."))
        #expect(try rdata("h2.hosts.example.com.", .aaaa) == [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [0x12])
    }

    @Test func txtEscapesDecodeToTheirOctets() throws {
        let first = Array("quote\" semi; backslash\\ tab".utf8) + [9] + Array(" nul".utf8) + [0] + Array(" high".utf8) + [255]
        let second = Array("second".utf8)
        #expect(try rdata("txt.example.com.", .txt) == [UInt8(first.count)] + first + [UInt8(second.count)] + second)
    }

    @Test func rfc3597UnknownRDataIsKeptForUnknownAndKnownTypes() throws {
        let i = try #require(zone.records.firstIndex { $0.type.rawValue == 65534 })
        #expect(zone.records[i].rdata == [0xde, 0xad, 0xbe, 0xef])
        #expect(try rdata("hex-a.example.com.", .a) == [192, 0, 2, 99])
    }

    @Test func caaHttpsAndLocAreEncodedPerTheirRFCs() throws {
        #expect(try rdata("example.com.", .caa) == [0, 5] + Array("issue".utf8) + Array("ca.example.net".utf8))
        // RFC 9460: priority 1, target ".", alpn=h2,h3 (key 1), port=8443 (key 3).
        #expect(try rdata("svc.example.com.", .https) == [0, 1, 0, 0, 1, 0, 6, 2, 0x68, 0x32, 2, 0x68, 0x33, 0, 3, 0, 2, 0x20, 0xfb])
        // RFC 1876: version 0, size 0m, hp 10000m, vp 10m, then lat, lon, alt.
        #expect(try rdata("loc.example.com.", .loc) == [0x00, 0x00, 0x16, 0x13, 0x8b, 0x3c, 0xf0, 0x18,
                                                        0x81, 0x0c, 0xbc, 0xe0, 0x00, 0x98, 0x95, 0xb8])
    }

    @Test func naptrSshfpTlsaAndDnameAreEncoded() throws {
        func s(_ x: String) -> [UInt8] { [UInt8(x.utf8.count)] + Array(x.utf8) }
        #expect(try rdata("naptr.example.com.", .naptr) == [0, 100, 0, 10] + s("U") + s("E2U+sip") + s("!^.*$!sip:info@example.com!") + [0])
        let hex: [UInt8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]
        #expect(try rdata("sshfp.example.com.", .sshfp) == [1, 1] + hex + hex + [0x01, 0x23, 0x45, 0x67])
        #expect(try rdata("_443._tcp.www.example.com.", .tlsa) == [3, 1, 1] + hex + hex + hex + hex)
        #expect(try rdata("dn.example.com.", .dname) == wire("target.example.net."))
    }

    @Test func wildcardsAndDelegationsLoadAsPlainRecords() throws {
        #expect(try rdata("*.wild.example.com.", .a) == [192, 0, 2, 100])
        #expect(try rdata("sub.example.com.", .ns) == wire("ns.sub.example.com."))
        #expect(try rdata("ns.sub.example.com.", .a) == [192, 0, 2, 53])
    }

    @Test func theGoodZonePassesEveryCheck() {
        #expect(ZoneChecker.check(zone).map(\.description) == [])
    }

    @Test func aGivenOriginIsTheApexAndTheInitialOrigin() throws {
        let z = try ZoneFileLoader.load(path: path, origin: try DomainName("example.com."))
        #expect(z.origin == zone.origin)
        #expect(z.records == zone.records)
    }

    @Test func crlfLineEndingsRelativeOriginsAndEscapedOwnersParse() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zf-crlf-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = [
            "$ORIGIN crlf.example.",
            "@ 3600 IN SOA ns1 hm ( 1 2",
            "  3 4 5 )",
            "@ 3600 IN NS ns1",
            "$ORIGIN sub",
            "a\\.b\\032c 3600 IN A 192.0.2.1",
        ].joined(separator: "\r\n") + "\r\n"
        try text.write(toFile: dir + "/crlf.zone", atomically: true, encoding: .utf8)
        let z = try ZoneFileLoader.load(path: dir + "/crlf.zone", origin: nil)
        #expect(z.records.map(\.type) == [.soa, .ns, .a])
        #expect(z.lines == [2, 4, 6])
        #expect(z.records[2].name.wire == [5] + Array("a.b c".utf8) + wire("sub.crlf.example."))
        #expect(z.records[0].soa?.minimum == 5)
    }
}
