import GSLBCore
import Testing

/// RFC 9018 Appendix A's examples, byte for byte, and the rules around them.
@Suite struct DNSCookiesTests {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.makeIterator()
        while let h = it.next(), let l = it.next() { out.append(UInt8(String([h, l]), radix: 16)!) }
        return out
    }
    static func cookies(_ secret: String, previous: String? = nil) -> ServerCookies {
        ServerCookies(secrets: CookieSecrets(current: hex(secret), previous: previous.map(hex))!)
    }
    static func addr(_ s: String) -> ClientAddress { ClientAddress(text: s)! }

    @Test(arguments: [
        // A.1: learning a new server cookie.
        ("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100", UInt32(1559731985), "010000005cf79f111f8130c3eee29480"),
        // A.2: the same client, a renewed cookie 40 minutes later.
        ("e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100", UInt32(1559734385), "010000005cf7a871d4a564a1442aca77"),
        // A.3: another client.
        ("e5e973e5a6b2a43f48e7dc849e37bfcf", "fc93fc62807ddb86", "203.0.113.203", UInt32(1559734700), "010000005cf7a9acf73a7810aca2381e"),
        // A.4: an IPv6 client, after the secret was rotated.
        ("445536bcd2513298075a5d379663c962", "22681ab97d52c298", "2001:db8:220:1:59de:d0f4:8769:82b8", UInt32(1559741961), "010000005cf7c609a6bb79d16625507a"),
    ])
    func serverCookiesMatchRFC9018(_ secret: String, _ client: String, _ ip: String, _ now: UInt32, _ want: String) {
        let made = Self.cookies(secret).make(clientCookie: Self.hex(client), client: Self.addr(ip), now: now)
        #expect(made == Self.hex(want))
    }

    @Test func cookiesTheClientsReturnAreRecognised() {
        let s = Self.cookies("e5e973e5a6b2a43f48e7dc849e37bfcf")
        // A.3's query: reserved octets the client's old server set are part of the hash. Stamped
        // 1559727985: accepted within the hour, not at the example's reply time (1h52m later).
        let a3 = Self.hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5")
        #expect(s.check(clientCookie: a3.prefix(8), server: a3.dropFirst(8), client: Self.addr("203.0.113.203"), now: 1559727985 + 60) != nil)
        #expect(s.check(clientCookie: a3.prefix(8), server: a3.dropFirst(8), client: Self.addr("203.0.113.203"), now: 1559734700) == nil)
        // ... and never from another address.
        #expect(s.check(clientCookie: a3.prefix(8), server: a3.dropFirst(8), client: Self.addr("203.0.113.204"), now: 1559727985 + 60) == nil)
        // A.4: made with the old secret, accepted while it is the previous one, renewed with the new.
        let a4 = Self.hex("22681ab97d52c298010000005cf7c57926556bd0934c72f8")
        let ip6 = Self.addr("2001:db8:220:1:59de:d0f4:8769:82b8")
        #expect(Self.cookies("445536bcd2513298075a5d379663c962").check(clientCookie: a4.prefix(8), server: a4.dropFirst(8), client: ip6, now: 1559741961) == nil)
        let rotated = Self.cookies("445536bcd2513298075a5d379663c962", previous: "dd3bdf9344b678b185a6f5cb60fca715")
        let r = rotated.respond(to: a4, client: ip6, now: 1559741961)
        #expect(r.valid)
        #expect(r.value == Self.hex("22681ab97d52c298010000005cf7c609a6bb79d16625507a"))
    }

    @Test func aFreshValidCookieIsKeptAndAnOldOneRenewed() {
        let s = Self.cookies("e5e973e5a6b2a43f48e7dc849e37bfcf")
        let ip = Self.addr("198.51.100.100")
        let first = s.respond(to: Self.hex("2464c4abcf10c957"), client: ip, now: 1559731985)
        #expect(!first.valid)
        #expect(first.value == Self.hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480"))
        // Ten minutes later: the same cookie comes back, valid.
        let again = s.respond(to: first.value, client: ip, now: 1559731985 + 600)
        #expect(again.valid && again.value == first.value)
        // 40 minutes later: valid, and renewed (A.2).
        let renewed = s.respond(to: first.value, client: ip, now: 1559734385)
        #expect(renewed.valid && renewed.value == Self.hex("2464c4abcf10c957010000005cf7a871d4a564a1442aca77"))
        // Two hours later: expired, a new one.
        let late = s.respond(to: first.value, client: ip, now: 1559731985 + 7200)
        #expect(!late.valid)
        // Stamped more than five minutes ahead: not accepted.
        #expect(s.check(clientCookie: first.value.prefix(8), server: first.value.dropFirst(8), client: ip, now: 1559731985 - 301) == nil)
        #expect(s.check(clientCookie: first.value.prefix(8), server: first.value.dropFirst(8), client: ip, now: 1559731985 - 300) != nil)
    }

    @Test func secretsFilesAreOneOrTwoHexLines() throws {
        let s = try CookieSecrets.parse("# rotated 2026-12-01\ne5e973e5a6b2a43f48e7dc849e37bfcf\n445536BCD2513298075A5D379663C962  # old\n")
        #expect(s.current == Self.hex("e5e973e5a6b2a43f48e7dc849e37bfcf"))
        #expect(s.previous == Self.hex("445536bcd2513298075a5d379663c962"))
        #expect(throws: CookieSecretError.self) { try CookieSecrets.parse("") }
        #expect(throws: CookieSecretError.self) { try CookieSecrets.parse("e5e973e5a6b2a43f") }
        #expect(throws: CookieSecretError.self) { try CookieSecrets.parse("zz\n") }
    }
}
