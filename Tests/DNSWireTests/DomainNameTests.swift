import Testing
@testable import DNSWire

@Suite struct DomainNameTests {
    @Test func presentationFormRoundTripsWithEscapes() throws {
        let n = try DomainName("a\\.b.Ex\\065mple.com.")
        #expect(n.wire == [3, 97, 46, 98, 7, 69, 120, 65, 109, 112, 108, 101, 3, 99, 111, 109, 0])
        #expect(n.description == "a\\.b.ExAmple.com.")
        #expect(n.labelCount == 3)
    }

    @Test func comparisonIgnoresCaseButKeepsIt() throws {
        let a = try DomainName("WWW.Example.COM.")
        let b = try DomainName("www.example.com.")
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a.description == "WWW.Example.COM.")
    }

    @Test func relativeNamesTakeTheOrigin() throws {
        let o = try DomainName("example.com.")
        #expect(try DomainName("www", origin: o).description == "www.example.com.")
        #expect(try DomainName("@", origin: o) == o)
    }

    @Test func overlongLabelsAndNamesAreRejected() {
        #expect(throws: WireError.self) { try DomainName(String(repeating: "a", count: 64) + ".com.") }
        let long = Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".") + "."
        #expect(throws: WireError.self) { try DomainName(long) }
        #expect(throws: WireError.self) { try DomainName("a..b.") }
    }

    @Test func subdomainTestsRespectLabelBoundaries() throws {
        let z = try DomainName("example.com.")
        #expect(try DomainName("a.b.example.com.").isSubdomain(of: z))
        #expect(z.isSubdomain(of: z))
        #expect(!(try DomainName("badexample.com.").isSubdomain(of: z)))
        #expect(try DomainName("x.example.com.").parent == z)
    }

    @Test func dnameSubstitutionFailsPast255Octets() throws {
        let owner = try DomainName("d.example.")
        let target = try DomainName(Array(repeating: String(repeating: "t", count: 60), count: 4).joined(separator: ".") + ".")
        let short = try DomainName("a.d.example.")
        #expect(short.replacingSuffix(owner, with: try DomainName("x.test.")) == (try DomainName("a.x.test.")))
        let long = try DomainName(String(repeating: "q", count: 20) + ".d.example.")
        #expect(long.replacingSuffix(owner, with: target) == nil)
    }

    @Test func canonicalOrderFollowsRFC4034() throws {
        let names = try ["example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.", "z.example."]
            .map { try DomainName($0) }
        #expect(names.shuffled().sorted() == names)
    }

    @Test func addressTextParsesAndFormats() {
        #expect(IPAddressText.parseIPv4("192.0.2.1") == [192, 0, 2, 1])
        #expect(IPAddressText.parseIPv4("10.0.0.300") == nil)
        #expect(IPAddressText.parseIPv4("1.2.3") == nil)
        #expect(IPAddressText.parseIPv6("2001:db8::1") == [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1])
        #expect(IPAddressText.parseIPv6("::ffff:192.0.2.1")?.suffix(4) == [192, 0, 2, 1])
        #expect(IPAddressText.parseIPv6("1::2::3") == nil)
        #expect(IPAddressText.ipv6([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]) == "2001:db8::1")
    }
}
