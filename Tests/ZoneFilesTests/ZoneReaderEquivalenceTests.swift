import DNSWire
import Foundation
import GSLBCore
import Testing
@testable import ZoneFiles

/// The fast reader (`EntryTokenizer` + `FastRecordParser`, ldns for the rest) and the
/// pure-ldns reader give the same zone byte for byte (owner wire with its case, type,
/// class, TTL, RDATA, line and file of every record), or the same error (file, line,
/// message), on every zone file of the repository and on generated zones.
@Suite struct ZoneReaderEquivalenceTests {
    /// Everything a load gives, with names as wire bytes (DomainName's == ignores case).
    enum Outcome: Equatable, CustomStringConvertible {
        case zone(origin: [UInt8], records: [[UInt8]], lines: [Int], files: [String])
        case error(String)

        var description: String {
            switch self {
            case .zone(_, let r, _, _): return "zone of \(r.count) records"
            case .error(let e): return e
            }
        }
    }

    static func outcome(_ path: String, origin: DomainName?, reader: ZoneFileLoader.Reader,
                        includeRoot: String? = nil) -> (Outcome, ldnsRecords: Int) {
        do {
            let (z, n) = try ZoneFileLoader.read(path: path, origin: origin, includeRoot: includeRoot, reader: reader)
            let records = z.records.map { r -> [UInt8] in
                var b = r.name.wire
                for v in [r.type.rawValue, r.rclass] { b += [UInt8(v >> 8), UInt8(v & 0xFF)] }
                b += withUnsafeBytes(of: r.ttl.bigEndian, Array.init)
                return b + [UInt8(r.rdata.count >> 8), UInt8(r.rdata.count & 0xFF)] + r.rdata
            }
            return (.zone(origin: z.origin.wire, records: records, lines: z.lines, files: z.files), n)
        } catch {
            return (.error(error.description), 0)
        }
    }

    /// Both readers on `path`, with no origin and with the origin its file name gives;
    /// returns the fast reader's count of records ldns read (with the file-name origin).
    @discardableResult
    static func expectSame(_ path: String, includeRoot: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) -> (Outcome, Int) {
        var last: (Outcome, Int) = (.error(""), 0)
        var name = (path as NSString).lastPathComponent
        if name.hasSuffix(".zone") { name.removeLast(5) }
        let origins: [DomainName?] = [nil, try? DomainName(name.hasSuffix(".") ? name : name + ".")]
        for origin in origins {
            let ldns = outcome(path, origin: origin, reader: .ldns, includeRoot: includeRoot)
            let fast = outcome(path, origin: origin, reader: .fast, includeRoot: includeRoot)
            #expect(fast.0 == ldns.0, "\(path) origin \(origin.map { "\($0)" } ?? "none"): fast \(fast.0), ldns \(ldns.0)\n\(Self.firstDifference(fast.0, ldns.0))",
                    sourceLocation: sourceLocation)
            last = fast
        }
        return last
    }

    static func firstDifference(_ a: Outcome, _ b: Outcome) -> String {
        guard case .zone(_, let ra, let la, _) = a, case .zone(_, let rb, let lb, _) = b else { return "" }
        for i in 0..<min(ra.count, rb.count) where ra[i] != rb[i] || la[i] != lb[i] {
            return "record \(i): fast \(ra[i]) line \(la[i]), ldns \(rb[i]) line \(lb[i])"
        }
        return ra.count != rb.count ? "counts \(ra.count) and \(rb.count)" : "origin or files differ"
    }

    /// The repository's root (this file is Tests/ZoneFilesTests/…).
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Every `*.zone` under `zones/`, `bench/` and `Tests/` (fixtures, conformance zones).
    static let repoZones: [String] = {
        var out: [String] = []
        for top in ["zones", "bench", "Tests"] {
            let dir = repoRoot + "/" + top
            guard let e = FileManager.default.enumerator(atPath: dir) else { continue }
            for case let f as String in e where f.hasSuffix(".zone") { out.append(dir + "/" + f) }
        }
        return out.sorted()
    }()

    @Test func theRepositoryHasZonesToCompare() {
        #expect(Self.repoZones.count >= 40, "\(Self.repoZones)")
        #expect(Self.repoZones.contains { $0.hasSuffix("/zones/example.com.zone") })
        #expect(Self.repoZones.contains { $0.hasSuffix("conformance/conf.example.zone") })
    }

    @Test(arguments: repoZones)
    func everyZoneFileOfTheRepositoryReadsTheSame(_ path: String) {
        Self.expectSame(path)
    }

    @Test func theConformanceZoneIsReadWithoutLdnsForTheCommonTypes() throws {
        let path = Self.repoRoot + "/Tests/ZoneFilesTests/Fixtures/conformance/conf.example.zone"
        let fast = Self.outcome(path, origin: try DomainName("conf.example."), reader: .fast)
        let ldns = Self.outcome(path, origin: try DomainName("conf.example."), reader: .ldns)
        guard case .zone(_, let records, _, _) = fast.0 else { Issue.record("\(fast.0)"); return }
        #expect(fast.ldnsRecords < records.count / 2, "\(fast.ldnsRecords) of \(records.count) through ldns")
        #expect(ldns.ldnsRecords == records.count)
    }

    // MARK: - Generated zones

    @Test(arguments: 1...12)
    func generatedZonesWithEveryFormReadTheSame(_ seed: UInt64) throws {
        let dir = try GeneratedZone.directory("gen-\(seed)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var g = GeneratedZone(seed: seed)
        let path = try g.write(into: dir, entries: 160)
        let (out, ldns) = Self.expectSame(path)
        guard case .zone(_, let records, _, let files) = out else { Issue.record("generated zone failed: \(out)"); return }
        // The generator's forms reach both readers, and $INCLUDE files are read.
        #expect(records.count > 100)
        #expect(ldns > 0 && ldns < records.count, "\(ldns) of \(records.count) through ldns")
        #expect(Set(files).count > 1)
    }

    @Test func theBigZoneShapeIsReadWithoutLdns() throws {
        let dir = try GeneratedZone.directory("big")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/big.example.zone"
        let script = Self.repoRoot + "/scripts/lib/gen_big_zone.py"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, path, "--names", "2000", "--seed", "7"]
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0)
        let (out, ldns) = Self.expectSame(path)
        guard case .zone(_, let records, _, _) = out else { Issue.record("\(out)"); return }
        #expect(records.count == 3 + 2000 * 2 + 200)
        #expect(ldns == 0)
    }

    /// One malformed entry at a time in a valid zone: the same error, at the same line.
    static let malformed: [String] = [
        "bad A 192.0.2.300", "bad A 1.2.3", "bad A 01.2.3.4", "bad A 1.2.3.4 5.6.7.8", "bad A", "bad AAAA 1::2::3",
        "bad AAAA 2001:db8::12345", "bad MX x y", "bad MX 10", "bad MX 70000 t", "bad MX -1 t", "bad TXT \"open",
        "bad TXT", "bad ( A 1.2.3.4", "bad A 1.2.3.4 )", "bad FOO 1", "bad 99999999999 A 1.2.3.4",
        "bad 4294967296 A 1.2.3.4", "bad SOA a b 1 2 3", "bad SOA a b 1 2 3 4 5 6", "bad SOA a b 4294967296 2 3 4 5",
        "bad SOA a b -1 2 3 4 5", "bad CAA 0 issue unquoted", "bad CAA 0 is-sue \"x\"", "bad CAA 256 issue \"x\"",
        "bad CAA 0 issue \"x\" y", "bad DS 1 8 2 ABC", "bad DS 1 8 2 XYZ", "bad DS 1 8 2", "bad DS 65536 8 2 AB",
        "bad TXT \"" + String(repeating: "x", count: 256) + "\"", "bad TXT " + String(repeating: "y", count: 256),
        "a..b A 1.2.3.4", ".a A 1.2.3.4", "$TTL", "$TTL 1x", "$ORIGIN", "$ORIGIN a..b", "$FOO bar", "bad CNAME a b",
        "bad CNAME a..b", "@foo A 1.2.3.4", String(repeating: "l", count: 64) + " A 1.2.3.4",
        String(repeating: "abcdefgh.", count: 30) + " A 1.2.3.4", "bad SRV 1 2 t", "bad SRV 1 2 3", "bad NS",
        "bad IN IN A 1.2.3.4", "bad 300 300 A 1.2.3.4", "bad CH A 1.2.3.4", "bad IN 300 IN A 1.2.3.4",
        "bad A \"1.2.3.4\"", "bad TXT \"a\"b", "bad TXT a\"b\"", "bad \\# A 1.2.3.4", "bad A \\# 4 0A000001",
        "bad A \\# 3 0A0000", "bad TYPE1 1.2.3.4", "bad ANY 1.2.3.4", "bad AXFR", "bad OPT 1", "bad 1h A 1.2.3.4",
        "bad 1x A 1.2.3.4", "( bad A 1.2.3.4 )", "bad A 1.2.3.4 ; ( comment", "bad A ( 1.2.3.4", "bad A 1.2.3.4 \"",
        "bad TXT \"a\nb\"", "bad TXT ( \"a\nb\" )", " A 192.0.2.9", "bad\tA\t192.0.2.9\r", "bad A 192.0.2.9\u{0C}",
        "bad A 1.2.3.4\u{0B}x A 1.2.3.5", "x\\ y A 1.2.3.4", "x.\\. A 1.2.3.4", "bad MX 10 @", "bad MX 10 @.x",
        "bad DS 1 RSASHA256 2 ABCD", "bad DS 1 8 2 AB CD EF 01", "bad CAA 0 issue \"\"", "bad TXT \"\"",
    ]

    @Test(arguments: 0..<malformed.count)
    func aMalformedEntryGivesTheSameErrorOrRecords(_ k: Int) throws {
        let dir = try GeneratedZone.directory("bad-\(k)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bad.example.zone"
        let text = "$ORIGIN bad.example.\n$TTL 300\n@ IN SOA ns hm 1 2 3 4 5\n@ IN NS ns\nns A 192.0.2.1\n; next\n"
            + Self.malformed[k] + "\nafter A 192.0.2.2\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        Self.expectSame(path)
    }

    /// Random damage (quotes, parentheses, backslashes, blanks, newlines, dots...) to
    /// generated zones: whatever either reader makes of it, the other makes the same.
    @Test(arguments: 1...8)
    func damagedGeneratedZonesReadTheSame(_ seed: UInt64) throws {
        let dir = try GeneratedZone.directory("dmg-\(seed)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var g = GeneratedZone(seed: seed &* 7919)
        let path = try g.write(into: dir, entries: 40)
        let clean = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let noise: [UInt8] = Array(" \t\n\r();\"\\.@$0123456789aZ*-_/".utf8) + [0xC3, 0x00, 0x0C]
        for _ in 0..<40 {
            var bytes = clean
            for _ in 0..<(1 + g.below(3)) {
                let at = g.below(bytes.count)
                let c = g.pick(noise)
                switch g.below(3) {
                case 0: bytes[at] = c
                case 1: bytes.insert(c, at: at)
                default: bytes.remove(at: at)
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            Self.expectSame(path)
        }
    }
}

/// A deterministic zone (and its `$INCLUDE` files) using every form the readers meet:
/// each common type in plain and unusual spellings, escapes (`\"`, `\DDD`, `\.`),
/// `$ORIGIN`, `$TTL` (with units), `$INCLUDE` (with and without origin), parentheses
/// around any part and across lines, comments, quotes holding `;` and `()`, relative
/// and absolute names, `@`, blank owners, TTL and class in either order, TTL units,
/// tabs, CRLF, other types and RFC 3597 generic RDATA (for ldns).
struct GeneratedZone {
    var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func below(_ n: Int) -> Int { Int(rng.below(UInt64(n))) }
    mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }

    static func directory(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zreq-\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes `gen.example.zone` and its includes into `dir`; returns the zone's path.
    mutating func write(into dir: String, entries: Int) throws -> String {
        var main = "; generated\n$ORIGIN gen.example.\n$TTL 3600\n"
        main += pick(["@ IN SOA ns1 hostmaster ( 2026 7200 3600 1209600 300 )\n",
                      "@\t3600\tIN\tSOA\tns1.gen.example. host\\.master.gen.example. (\n  1 ; serial\n  2h ; refresh\n  3 4 5 )\n",
                      "gen.example. IN 600 SOA ns1 hm 4294967295 0 00010 1w 1d\n"])
        main += "@ NS ns1\n@ NS ns2.gen.example.\nns1 A 192.0.2.53\nns2 AAAA 2001:db8::53\n"
        for k in 0..<entries {
            main += entry(k)
            if k % 40 == 20 {
                let inc = "inc\(k).inc"
                var text = "; include \(k)\n"
                for j in 0..<8 { text += entry(1000 + k * 10 + j) }
                try text.write(toFile: dir + "/" + inc, atomically: true, encoding: .utf8)
                main += pick(["$INCLUDE \(inc)\n", "$INCLUDE \(inc) sub\(k).gen.example.\n", "$INCLUDE \"\(inc)\" in\(k)\n"])
            }
            if k % 37 == 5 { main += pick(["$ORIGIN sub.gen.example.\n", "$ORIGIN deeper\n", "$ORIGIN gen.example.\n"]) }
            if k % 29 == 3 { main += pick(["$TTL 600\n", "$TTL 1h30m\n", "$TTL 0\n", "$TTL 2W\n"]) }
        }
        if below(2) == 0 { main = main.replacingOccurrences(of: "\n", with: "\r\n") }
        let path = dir + "/gen.example.zone"
        try main.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    mutating func owner(_ k: Int) -> String {
        pick(["h\(k)", "h\(k)", "H\(k).Mixed", "h\(k).gen.example.", "@", "", "*.w\(k)", "_sip._tcp.h\(k)", "a\\.b\(k)",
              "\\065x\(k)", "x\\ y\(k)", "0/25.h\(k)", "a#b\(k)", "-\(k)", "UPPER\(k)", "h\(k)."])
    }

    mutating func head() -> String {
        pick(["", "", "300 ", "IN ", "300 IN ", "IN 300 ", "1h2m ", "1H ", "0 ", "in ", "3600 in ", "2w ", "\t", "0300 ",
              "( 300 ) ", "IN\t"])
    }

    mutating func name() -> String {
        pick(["t", "t.gen.example.", "@", ".", "T.Mixed", "a\\.b", "ns1", "x.\\097", "*.w", "_srv.t", "t.", "other.test."])
    }

    mutating func ipv4() -> String { "\(below(256)).\(below(256)).\(below(256)).\(below(256))" }

    mutating func ipv6() -> String {
        pick(["2001:db8::\(String(below(65536), radix: 16))", "::1", "::", "2001:DB8:0:0:0:0:0:1", "::ffff:192.0.2.1",
              "fe80::1:2:3:4", "2001:db8:\(String(below(65536), radix: 16)):1::\(below(9999))"])
    }

    mutating func txt() -> String {
        pick(["\"hello world\"", "\"a;b(c)d\"", "word", "\"\"", "\"x\" \"y\" z", "\"esc \\\"q\\\" \\065\\\\\"",
              "\"caf\u{E9} \u{2603}\"", "\"" + String(repeating: "z", count: 255) + "\"", "\"v=spf1 -all\"",
              "( \"one\"\n    \"two\" )", "\"tab\there\"", "a\\;b", "\"semi ; colon\"", "\"(\" \")\""])
    }

    mutating func rdata(_ type: String) -> String {
        switch type {
        case "A": return pick([ipv4(), "192.0.2.1", "0.0.0.0"])
        case "AAAA": return ipv6()
        case "NS", "CNAME", "PTR": return name()
        case "MX": return "\(pick(["10", "0", "65535", "007"])) \(name())"
        case "TXT": return txt()
        case "SRV": return "\(below(100)) \(below(100)) \(pick(["443", "5060", "0"])) \(name())"
        case "CAA": return pick(["0 issue \"letsencrypt.org\"", "128 iodef \"mailto:a@b.example\"", "0 issuewild \";\"",
                                 "0 tbs \"\"", "0 Issue \"x y z\""])
        case "DS": return pick(["60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
                                "12345 8 2 ( 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE\n 5BA2A0F9F09C3A5B1F7FF9C6 )",
                                "1 13 2 abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
                                "2 RSASHA256 2 AABB"])
        case "SOA": return "ns1 hm ( 1 2 3 4 5 )"
        case "HINFO": return "\"PC\" \"Linux\""
        case "NAPTR": return "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp"
        case "SSHFP": return "1 1 123456789abcdef67890123456789abcdef67890"
        case "TLSA": return "3 1 1 ( 0123456789ABCDEF0123456789ABCDEF\n 0123456789ABCDEF0123456789ABCDEF )"
        case "DNSKEY": return "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="
        case "TYPE65534": return "\\# 3 abcdef"
        case "SPF": return "\"v=spf1 -all\""
        default: return "\\# 4 0A000001"
        }
    }

    mutating func entry(_ k: Int) -> String {
        let type = pick(["A", "A", "AAAA", "NS", "CNAME", "PTR", "MX", "TXT", "TXT", "SRV", "CAA", "DS", "HINFO", "NAPTR",
                         "SSHFP", "TLSA", "DNSKEY", "TYPE65534", "SPF", "a", "aaaa", "txt", "Mx"])
        let data = rdata(type.uppercased())
        let o = owner(k), h = head()
        let sep = pick([" ", "\t", "  "])
        var line: String
        switch below(8) {
        case 0: line = "\(o)\(sep)\(h)\(type) ( \(data) )"
        case 1: line = "\(o)\(sep)\(h)\(type) (\n\t\(data) ; inside\n)"
        case 2: line = "(\(o)\(sep)\(h)\(type) \(data) )"
        case 3: line = "\(o)\(sep)\(h)\(type)\t\(data) ; trailing comment"
        case 4: line = "\(o)\(sep)\(h)\(type) \(data)   "
        default: line = "\(o)\(sep)\(h)\(type) \(data)"
        }
        if o.isEmpty && below(2) == 0 { line = "\t" + line }
        var out = line + "\n"
        if below(6) == 0 { out = pick(["; a comment line\n", "\n", "   \n", "\t; indented comment\n"]) + out }
        return out
    }
}

@Suite struct ZoneReaderSwitchTests {
    @Test func cairnZoneReaderLdnsSendsEveryEntryThroughLdns() throws {
        #expect(ZoneFileLoader.Reader(environment: ["CAIRN_ZONE_READER": "ldns"]) == .ldns)
        #expect(ZoneFileLoader.Reader(environment: ["CAIRN_ZONE_READER": "fast"]) == .fast)
        #expect(ZoneFileLoader.Reader(environment: [:]) == .fast)
        let path = ZoneReaderEquivalenceTests.repoRoot + "/zones/example.com.zone"
        let origin = try DomainName("example.com.")
        let ldns = try ZoneFileLoader.read(path: path, origin: origin, reader: .ldns)
        let fast = try ZoneFileLoader.read(path: path, origin: origin, reader: .fast)
        #expect(ldns.ldnsRecords == ldns.zone.records.count)
        #expect(fast.ldnsRecords == 0, "example.com.zone has only plain records of the common types")
    }
}
