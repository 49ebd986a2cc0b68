import DNSWire
import Foundation
import Testing

/// DNS cookies (RFC 7873, RFC 9018 server cookies) on the real server: on by default, off with
/// `--no-cookies`, and nodes sharing `--cookie-secret-file` accept each other's cookies.
@Suite(.serialized) struct CookieTests {
    static let zones = Paths.fixture("Tests/conformance/zones").path
    static let clientCookie: [UInt8] = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57]

    /// The COOKIE option of a response, or nil.
    static func cookie(_ m: Message) -> [UInt8]? {
        guard let opt = m.opt else { return nil }
        var o = 0
        let d = opt.rdata
        while o + 4 <= d.count {
            let code = Int(d[o]) << 8 | Int(d[o + 1]), len = Int(d[o + 2]) << 8 | Int(d[o + 3])
            if code == 10, o + 4 + len <= d.count { return Array(d[(o + 4)..<(o + 4 + len)]) }
            o += 4 + len
        }
        return nil
    }

    static func ask(_ port: Int, _ cookie: [UInt8]) throws -> Message {
        try DNSClient.udp("www.conf.example.", .a, port: port, edns: (1232, false), options: [(code: 10, data: cookie)])
    }

    @Test func digCookieGetsAServerCookieThatComesBackValid() throws {
        let server = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--api", "", "--udp-workers", "1"])
        // dig +cookie (bind9-dnsutils), as an operator checks it.
        let (rc, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
            ["dig", "+cookie", "+norec", "+time=2", "+tries=1", "-p", "\(server.port)", "@127.0.0.1", "www.conf.example.", "A"])
        #expect(rc == 0, "\(out)")
        #expect(out.contains("COOKIE: ") && out.contains("(good)") || out.contains("COOKIE: ") && !out.contains("(bad)"), "\(out)")
        let line = out.split(separator: "\n").first { $0.contains("COOKIE:") }.map(String.init) ?? ""
        // 8-octet client + 16-octet server cookie: 48 hex digits.
        let hex = line.replacingOccurrences(of: "; COOKIE: ", with: "").prefix(48)
        #expect(hex.count == 48 && hex.allSatisfy { $0.isHexDigit }, "\(line)")

        let first = try Self.ask(server.port, Self.clientCookie)
        let got = try #require(Self.cookie(first), "no COOKIE in the answer")
        #expect(got.count == 24 && Array(got.prefix(8)) == Self.clientCookie && got[8] == 1, "\(got)")
        #expect(first.rcode == .noError && !first.answer.isEmpty)
        // Sent back: valid and fresh, so echoed as it is.
        let back = try Self.ask(server.port, got)
        #expect(Self.cookie(back) == got)
        // A forged server cookie: a normal answer with a new, good one (not BADCOOKIE, as BIND).
        var forged = got
        forged[20] ^= 0xff
        let r = try Self.ask(server.port, forged)
        #expect(r.rcode == .noError && Self.cookie(r) == got)
        // Malformed (9 octets): FORMERR (RFC 7873 §5.2.2).
        let malformed = try Self.ask(server.port, Self.clientCookie + [1])
        #expect(malformed.rcode == .formErr)
    }

    @Test func noCookiesTurnsThemOff() throws {
        let server = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--api", "", "--udp-workers", "1",
                                       "--no-cookies"])
        let m = try Self.ask(server.port, Self.clientCookie)
        #expect(m.rcode == .noError && Self.cookie(m) == nil)
    }

    @Test func nodesSharingTheSecretAcceptEachOthersCookiesAcrossARotation() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-cookie-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let old = dir.appendingPathComponent("old").path, rotated = dir.appendingPathComponent("rotated").path
        try "e5e973e5a6b2a43f48e7dc849e37bfcf\n".write(toFile: old, atomically: true, encoding: .utf8)
        try "445536bcd2513298075a5d379663c962\ne5e973e5a6b2a43f48e7dc849e37bfcf\n".write(toFile: rotated, atomically: true, encoding: .utf8)
        let a = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--api", "", "--udp-workers", "1",
                                  "--cookie-secret-file", old])
        let b = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--api", "", "--udp-workers", "1",
                                  "--cookie-secret-file", old])
        let c = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--api", "", "--udp-workers", "1",
                                  "--cookie-secret-file", rotated])
        let fromA = try #require(Self.cookie(try Self.ask(a.port, Self.clientCookie)))
        // Node B (same secret) takes A's cookie as valid and sends it back unchanged.
        let atB = try Self.ask(b.port, fromA)
        #expect(Self.cookie(atB) == fromA)
        // Node C (rotated: new current, old previous) accepts it and renews it with the new secret.
        let fromC = try #require(Self.cookie(try Self.ask(c.port, fromA)))
        #expect(fromC != fromA && Array(fromC.prefix(8)) == Self.clientCookie)
        let again = try Self.ask(c.port, fromC)
        #expect(Self.cookie(again) == fromC)
        // A bad secrets file stops the start with a message naming the flag.
        let bad = dir.appendingPathComponent("bad").path
        try "not hex\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let (rc, out, _) = try CairnProcess.run(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--api", "",
                                              "--cookie-secret-file", bad], timeout: 10)
        #expect(rc != 0 && out.contains("--cookie-secret-file"), "\(out)")
    }
}
