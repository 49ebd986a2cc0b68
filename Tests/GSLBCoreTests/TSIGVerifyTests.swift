import DNSWire
import Foundation
@testable import GSLBCore
import Testing
import ZoneFiles

/// RFC 8945 §5.2 and §5.3 with keys: queries signed by dnspython 2.3 (an independent implementation;
/// `Message.use_tsig`, Time Signed 1,800,000,000, fudge 300, the key name compressed against the
/// question) checked by the answer engine on a fixed clock.
@Suite struct TSIGVerifyTests {
    static let now: UInt64 = 1_800_000_000

    /// www.conf.example. A, ID 0x4242, with OPT, signed with key.example. (hmac-sha256, secret 0...31).
    static let sha256Query = "4242010000010000000000020377777704636f6e66076578616d706c65000001000100002904d0000000000000036b6579c01500fa00ff00000000003d0b686d61632d7368613235360000006b49d200012c00209b413df349043c2c6011da2812d5d8ab0b77b343bd7a4a9dd958df871cd9800c424200000000"
    /// The same without OPT, signed with sha1.example. (hmac-sha1, secret 0...19).
    static let sha1Query = "4242010000010000000000010377777704636f6e66076578616d706c6500000100010473686131c01500fa00ff00000000002f09686d61632d736861310000006b49d200012c00144943ae5a319a65b303baefa0c960e0e037b08229424200000000"
    /// sha384.example. (hmac-sha384, secret 0...47).
    static let sha384Query = "4242010000010000000000010377777704636f6e66076578616d706c65000001000106736861333834c01500fa00ff00000000004d0b686d61632d7368613338340000006b49d200012c0030887e0e320b096a7c1769fbc157198f226f16fd116fd24bc87438c9aeccc7261231ce9224f331c709622fe061f9ce1e64424200000000"
    /// sha512.example. (hmac-sha512, secret 0...63).
    static let sha512Query = "4242010000010000000000010377777704636f6e66076578616d706c65000001000106736861353132c01500fa00ff00000000005d0b686d61632d7368613531320000006b49d200012c0040fbef4aab6983fe7f512416b8ad81034266e4a0940cac302a36b6926bb402542341fd38c7c13ed62426775282c3cd7a378e2a5d71a2989fd998101947dc8d60bb424200000000"

    static let keys = [
        TSIGKey(name: "key.example.", algorithm: .hmacSHA256, secret: Array(0..<32)),
        TSIGKey(name: "sha1.example.", algorithm: .hmacSHA1, secret: Array(0..<20)),
        TSIGKey(name: "sha384.example.", algorithm: .hmacSHA384, secret: Array(0..<48)),
        TSIGKey(name: "sha512.example.", algorithm: .hmacSHA512, secret: Array(0..<64)),
    ]

    static func bytes(_ hex: String) -> [UInt8] { hexBytes(hex)! }

    static func snapshot(keys: [TSIGKey] = keys) throws -> ServingSnapshot {
        let (zones, errors) = ZoneDirectory.load(directory: GoldenAnswerTests.fixtures.appendingPathComponent("zones").path)
        #expect(errors.isEmpty, "\(errors)")
        return try SnapshotBuilder().build(zones: zones, gslb: GSLBState(tsigKeys: keys))
    }

    static func respond(_ q: [UInt8], now: UInt64 = now, keys: [TSIGKey] = keys, transport: AnswerEngine.Transport = .udp,
                        maxUDP: Int = 1232) throws -> [UInt8] {
        let snap = try snapshot(keys: keys)
        let engine = AnswerEngine(maxUDPPayload: maxUDP)
        engine.clock = { now }
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { out.deallocate() }
        let n = q.withUnsafeBytes { engine.respond(to: $0, transport: transport, snapshot: snap, into: out) }
        return Array(out[0..<n])
    }

    /// The TSIG record's RDATA fields.
    struct Fields {
        var algorithm: [UInt8], time: UInt64, fudge: UInt16, mac: [UInt8], originalID: UInt16, error: UInt16, other: [UInt8]
        init(_ rdata: [UInt8]) {
            var p = 0
            while rdata[p] != 0 { p += Int(rdata[p]) + 1 }
            p += 1
            algorithm = Array(rdata[0..<p])
            func u16(_ o: Int) -> UInt16 { UInt16(rdata[o]) << 8 | UInt16(rdata[o + 1]) }
            time = UInt64(u16(p)) << 32 | UInt64(u16(p + 2)) << 16 | UInt64(u16(p + 4))
            fudge = u16(p + 6)
            let macSize = Int(u16(p + 8))
            mac = Array(rdata[(p + 10)..<(p + 10 + macSize)])
            p += 10 + macSize
            originalID = u16(p); error = u16(p + 2)
            other = Array(rdata[(p + 6)..<(p + 6 + Int(u16(p + 4)))])
        }
    }

    /// The response's TSIG, checked to be last and to carry a MAC that verifies over the response
    /// without it (RFC 8945 §4.3.2, the request MAC first).
    static func verifiedTSIG(_ response: [UInt8], requestMAC: [UInt8], key: TSIGKey) throws -> Fields {
        let m = try Message(bytes: response)
        let t = try #require(m.additional.last)
        #expect(t.type == .tsig && t.rclass == RecordClass.any && t.ttl == 0)
        let f = Fields(t.rdata)
        // Where the TSIG starts: its owner (uncompressed) plus 10 + RDLENGTH octets before the end.
        let start = response.count - (t.name.wire.count + 10 + t.rdata.count)
        var unsigned = Array(response[0..<start])
        let ar = (UInt16(unsigned[10]) << 8 | UInt16(unsigned[11])) - 1
        unsigned[10] = UInt8(ar >> 8); unsigned[11] = UInt8(ar & 0xff)
        let expected = unsigned.withUnsafeBytes {
            TSIGDigest.response($0, requestMAC: requestMAC, key: key, keyName: t.name.key, timeSigned: f.time, fudge: f.fudge,
                                error: f.error, otherData: f.other)
        }
        #expect(f.mac == expected, "the response's MAC does not verify")
        return f
    }

    static func requestMAC(_ q: [UInt8]) throws -> [UInt8] {
        let parsed = q.withUnsafeBytes { QueryParser.parse($0) }
        guard case .query(let query) = parsed, let t = query.tsig else { throw WireError.tooShort }
        return t.mac
    }

    @Test(arguments: [(sha256Query, 0), (sha1Query, 1), (sha384Query, 2), (sha512Query, 3)])
    func aQuerySignedByDnspythonIsAnsweredAndTheAnswerSigned(hex: String, keyIndex: Int) throws {
        let q = Self.bytes(hex)
        let r = try Self.respond(q)
        let m = try Message(bytes: r)
        #expect(m.rcode == .noError && m.aa)
        #expect(m.answer.map(\.type) == [.a])
        let key = Self.keys[keyIndex]
        let f = try Self.verifiedTSIG(r, requestMAC: try Self.requestMAC(q), key: key)
        #expect(f.error == 0 && f.other.isEmpty)
        #expect(f.time == Self.now && f.fudge == 300 && f.originalID == 0x4242)
        #expect(f.mac.count == key.algorithm.macSize)
        #expect(f.algorithm == key.algorithm.wireName)
    }

    @Test func aWrongSecretGetsBadSigUnsigned() throws {
        let wrong = [TSIGKey(name: "key.example.", algorithm: .hmacSHA256, secret: Array(1...32))]
        let m = try Message(bytes: try Self.respond(Self.bytes(Self.sha256Query), keys: wrong))
        #expect(m.rcode == .notAuth && m.answer.isEmpty)
        let f = Fields(try #require(m.additional.last).rdata)
        #expect(f.error == TSIGError.badSig && f.mac.isEmpty)
    }

    /// Any octet of the signed part changed: BADSIG (the question's name, the RD flag, the OPT's UDP size).
    @Test(arguments: [13, 3, 37]) func aChangedOctetGetsBadSig(offset: Int) throws {
        var q = Self.bytes(Self.sha256Query)
        q[offset] ^= 0x01
        let m = try Message(bytes: try Self.respond(q))
        #expect(m.rcode == .notAuth)
        #expect(Fields(try #require(m.additional.last).rdata).error == TSIGError.badSig)
    }

    @Test func aKnownNameWithAnotherAlgorithmGetsBadKey() throws {
        let other = [TSIGKey(name: "key.example.", algorithm: .hmacSHA512, secret: Array(0..<32))]
        let m = try Message(bytes: try Self.respond(Self.bytes(Self.sha256Query), keys: other))
        #expect(m.rcode == .notAuth)
        #expect(Fields(try #require(m.additional.last).rdata).error == TSIGError.badKey)
    }

    /// §5.2.3: outside Time Signed ± Fudge (300 s) by one second either way: BADTIME, signed, the
    /// request's Time Signed, the server's time in Other Data. At the edges: a normal answer.
    @Test(arguments: [(now + 301, true), (now - 301, true), (now + 300, false), (now - 300, false)])
    func timeOutsideTheFudgeGetsASignedBadTime(clock: UInt64, bad: Bool) throws {
        let q = Self.bytes(Self.sha256Query)
        let r = try Self.respond(q, now: clock)
        let m = try Message(bytes: r)
        let f = try Self.verifiedTSIG(r, requestMAC: try Self.requestMAC(q), key: Self.keys[0])
        if bad {
            #expect(m.rcode == .notAuth && m.answer.isEmpty)
            #expect(f.error == TSIGError.badTime)
            #expect(f.time == Self.now)
            #expect(f.other == TSIGDigest.time48(clock))
        } else {
            #expect(m.rcode == .noError && f.error == 0 && f.time == clock)
        }
    }

    /// §5.2.2.1: a MAC longer than the hash, or shorter than max(10, half the hash), is FORMERR; a
    /// correct MAC truncated to a length the RFC allows is below Cairn's minimum (the full MAC):
    /// BADTRUNC, unsigned; a wrong truncated MAC is BADSIG; an empty MAC is no signature: BADSIG.
    @Test(arguments: [(33, "formerr"), (15, "formerr"), (9, "formerr"), (16, "badtrunc"), (31, "badtrunc"), (0, "badsig")])
    func truncatedMACs(size: Int, outcome: String) throws {
        let q = Self.bytes(Self.sha256Query)
        let mac = try Self.requestMAC(q)
        let newMAC = size <= 32 ? Array(mac.prefix(size)) : mac + [UInt8](repeating: 0, count: size - 32)
        let r = try Self.respond(try Self.replacingMAC(q, with: newMAC))
        let m = try Message(bytes: r)
        switch outcome {
        case "formerr":
            #expect(m.rcode == .formErr)
            #expect(!m.additional.contains { $0.type == .tsig })
        default:
            #expect(m.rcode == .notAuth)
            let f = Fields(try #require(m.additional.last).rdata)
            #expect(f.error == (outcome == "badtrunc" ? TSIGError.badTrunc : TSIGError.badSig))
            #expect(f.mac.isEmpty)
        }
        if size == 16 {
            var wrong = newMAC
            wrong[0] ^= 1
            let w = try Message(bytes: try Self.respond(try Self.replacingMAC(q, with: wrong)))
            #expect(Fields(try #require(w.additional.last).rdata).error == TSIGError.badSig)
        }
    }

    /// The query of `sha256Query` with another MAC (RDLENGTH and MAC size fixed up).
    static func replacingMAC(_ q: [UInt8], with mac: [UInt8]) throws -> [UInt8] {
        // Where the TSIG RDATA starts, and its MAC size (after the algorithm name, 13 octets, and 8 of time and fudge).
        let rdStart = 61   // header 12, question 22, OPT 11, owner 6 ("key" and a pointer), 10 fixed
        let macSizeAt = rdStart + 13 + 8
        let old = Int(q[macSizeAt]) << 8 | Int(q[macSizeAt + 1])
        var out = Array(q[0..<macSizeAt]) + [UInt8(mac.count >> 8), UInt8(mac.count & 0xff)] + mac + Array(q[(macSizeAt + 2 + old)...])
        let rdlen = out.count - rdStart
        out[rdStart - 2] = UInt8(rdlen >> 8); out[rdStart - 1] = UInt8(rdlen & 0xff)
        return out
    }

    /// A signed answer keeps room for its TSIG: one that does not fit in 512 octets is TC, the question
    /// only, and still signed (RFC 8945 §5.3.1, as NSD). Over TCP the same query is answered whole.
    @Test func aTruncatedAnswerIsStillSigned() throws {
        // big.conf.example. A (40 addresses, 640 octets of answer), no OPT, ID 0x4243, signed with sha1.example.
        let q = Self.bytes("4243010000010000000000010362696704636f6e66076578616d706c6500000100010473686131c01500fa00ff00000000002f09686d61632d736861310000006b49d200012c00140d85b3582906802865b7a6c9097656c99056ab78424300000000")
        let udp = try Self.respond(q)
        #expect(udp.count <= 512)
        let m = try Message(bytes: udp)
        #expect(m.tc && m.rcode == .noError && m.answer.isEmpty)
        #expect(try Self.verifiedTSIG(udp, requestMAC: try Self.requestMAC(q), key: Self.keys[1]).error == 0)
        let tcp = try Self.respond(q, transport: .tcp)
        let whole = try Message(bytes: tcp)
        #expect(!whole.tc && whole.answer.count == 40)
        #expect(try Self.verifiedTSIG(tcp, requestMAC: try Self.requestMAC(q), key: Self.keys[1]).error == 0)
    }

    /// A 255-octet key name and a 200-octet question leave no room for the question in 512 octets beside the
    /// TSIG: the answer is TC with no question (QDCOUNT 0), still signed and well-formed.
    @Test func aLongKeyNameAndALongQuestionStillMakeAWellFormedSignedAnswer() throws {
        let label = { (c: Character, n: Int) in String(repeating: c, count: n) }
        let keyName = [label("a", 63), label("b", 63), label("c", 63), label("d", 61)].joined(separator: ".") + "."
        let key = TSIGKey(name: keyName, algorithm: .hmacSHA256, secret: Array(0..<32))
        let qname = try DomainName([label("x", 63), label("y", 63), label("z", 40), "wild.conf.example."].joined(separator: "."))
        var q = QueryBuilder.make(id: 0x4444, name: qname, type: .a, qclass: RecordClass.in, rd: false, edns: nil)
        q[11] = 1
        var rd = TSIGAlgorithm.hmacSHA256.wireName + TSIGDigest.time48(Self.now) + [1, 44, 0, 32]
        let macAt = q.count + (try DomainName(keyName)).wire.count + 10 + rd.count
        rd += [UInt8](repeating: 0, count: 32) + [0x44, 0x44, 0, 0, 0, 0]
        q += (try DomainName(keyName)).wire + [0, 250, 0, 255, 0, 0, 0, 0, UInt8(rd.count >> 8), UInt8(rd.count & 0xff)] + rd
        let parsed = q.withUnsafeBytes { QueryParser.parse($0) }
        guard case .query(let query) = parsed, let t = query.tsig else { Issue.record("not parsed"); return }
        let mac = q.withUnsafeBytes { TSIGDigest.request(t, query: $0, key: key) }
        q.replaceSubrange(macAt..<(macAt + 32), with: mac)
        let r = try Self.respond(q, keys: [key])
        #expect(r.count <= 512)
        let m = try Message(bytes: r)
        #expect(m.tc && m.rcode == .noError && m.questions.isEmpty, "\(m.rcode)")
        #expect(try Self.verifiedTSIG(r, requestMAC: mac, key: key).error == 0)
    }

    @Test func unsignedQueriesStayUnsignedWithKeysConfigured() throws {
        var q = Array(Self.bytes(Self.sha1Query)[0..<34])   // header and question
        q[11] = 0
        let m = try Message(bytes: try Self.respond(q))
        #expect(m.rcode == .noError)
        #expect(!m.additional.contains { $0.type == .tsig })
    }

    @Test func keysAreSharedByPoolOnlyRebuildsAndReplacedWhenTheyChange() throws {
        let snap = try Self.snapshot()
        let same = try #require(SnapshotBuilder().rebuildingPools(of: snap, gslb: snap.gslb, now: 1, generation: 2))
        #expect(same.tsigKeys === snap.tsigKeys)
        var gslb = snap.gslb
        gslb.tsigKeys.removeFirst()
        let fewer = try #require(SnapshotBuilder().rebuildingPools(of: snap, gslb: gslb, now: 1, generation: 3))
        #expect(fewer.tsigKeys.count == 3)
    }

    @Test func theKeyFileIsBINDsForm() throws {
        let k = TSIGKey(name: "xfr.example.", algorithm: .hmacSHA256, secret: Array(0..<32))
        #expect(k.bindKeyFile == "key \"xfr.example\" {\n\talgorithm hmac-sha256;\n\tsecret \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\";\n};")
        #expect(TSIGKey.generateSecret(for: .hmacSHA384).count == 48)
        #expect(TSIGKey.generateSecret(for: .hmacSHA256) != TSIGKey.generateSecret(for: .hmacSHA256))
        #expect(try TSIGKey.secret(base64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").get() == Array(0..<32))
        #expect((try? TSIGKey.secret(base64: "AAEC").get()) == nil)   // 3 octets
        #expect((try? TSIGKey.secret(base64: "not base64!").get()) == nil)
        #expect(try TSIGKey.normalizedName("Xfr.Example").get() == "xfr.example.")
    }
}
