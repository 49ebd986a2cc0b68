import DNSWire
import Foundation
import GSLBCore
import Testing

/// RFC 8945 §5.2: a query signed with a key the server does not know gets NOTAUTH and an unsigned
/// TSIG record carrying BADKEY. Cairn has no TSIG keys yet, so every key is unknown.
@Suite struct TSIGResponseTests {
    /// www.conf.example. A, ID 0x4242, with an optional OPT, then a TSIG for `key`
    /// (hmac-sha256, fudge 17, a 32-octet MAC, original ID 0xbeef).
    static func signedQuery(key: String = "Key.Example.", edns: Bool = false, qname: String = "www.conf.example.",
                            qclass: UInt16 = RecordClass.in) throws -> [UInt8] {
        var m = QueryBuilder.make(id: 0x4242, name: try DomainName(qname), type: .a, qclass: qclass, rd: true,
                                  edns: edns ? (1232, true) : nil)
        m[11] += 1
        var rd = try DomainName("HMAC-SHA256.").wire
        rd += [0, 0, 0x65, 0x53, 0xf1, 0x00, 0, 17, 0, 32] + [UInt8](repeating: 0x11, count: 32) + [0xbe, 0xef, 0, 0, 0, 0]
        m += try DomainName(key).wire + [0, 250, 0, 255, 0, 0, 0, 0, UInt8(rd.count >> 8), UInt8(rd.count & 0xff)] + rd
        return m
    }

    static func respond(_ q: [UInt8], engine: AnswerEngine, transport: AnswerEngine.Transport = .udp) throws -> [UInt8] {
        let snap = try GoldenAnswerTests.snapshot()
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { out.deallocate() }
        let n = q.withUnsafeBytes { engine.respond(to: $0, transport: transport, snapshot: snap, into: out) }
        return Array(out[0..<n])
    }

    static func engine(now: UInt64 = 1_800_000_000) -> AnswerEngine {
        let e = AnswerEngine()
        e.clock = { now }
        return e
    }

    @Test func anUnknownKeyGetsNotAuthWithAnUnsignedBadKeyTSIG() throws {
        let r = try Self.respond(try Self.signedQuery(), engine: Self.engine())
        let m = try Message(bytes: r)
        #expect(m.id == 0x4242)
        #expect(m.rcode == .notAuth)
        #expect(m.qr && m.rd && !m.aa)
        #expect(m.answer.isEmpty && m.authority.isEmpty)
        let t = try #require(m.additional.last)
        #expect(m.additional.count == 1)
        #expect(t.type == .tsig)
        #expect(t.rclass == RecordClass.any)
        #expect(t.ttl == 0)
        #expect(t.name.wire == (try DomainName("key.example.")).wire)   // lower-cased, as NSD
        var expected = try DomainName("hmac-sha256.").wire
        expected += [0, 0, 0x6b, 0x49, 0xd2, 0x00]   // time signed: the server's clock, 1_800_000_000
        expected += [0, 17]                          // the query's fudge
        expected += [0, 0]                           // MAC size 0: unsigned
        expected += [0xbe, 0xef]                     // the query's original ID
        expected += [0, 17]                          // BADKEY
        expected += [0, 0]                           // no other data
        #expect(t.rdata == expected)
    }

    @Test func theOPTIsKeptBesideTheTSIG() throws {
        let m = try Message(bytes: try Self.respond(try Self.signedQuery(edns: true), engine: Self.engine()))
        #expect(m.rcode == .notAuth)
        #expect(m.opt != nil)
        #expect(m.additional.map(\.type) == [.tsig])
    }

    @Test(arguments: [("nowhere.invalid.", RecordClass.in), ("id.server.", RecordClass.ch), ("www.conf.example.", UInt16(5))])
    func theKeyIsCheckedBeforeTheZoneAndTheClass(qname: String, qclass: UInt16) throws {
        let m = try Message(bytes: try Self.respond(try Self.signedQuery(qname: qname, qclass: qclass), engine: Self.engine()))
        #expect(m.rcode == .notAuth, "\(qname) class \(qclass)")
    }

    @Test func overTCPToo() throws {
        let m = try Message(bytes: try Self.respond(try Self.signedQuery(), engine: Self.engine(), transport: .tcp))
        #expect(m.rcode == .notAuth)
        #expect(m.additional.last?.type == .tsig)
    }

    /// Every octet of a signed query (with OPT) set to 0x00, 0x01, 0x3f, 0xc0 and 0xff in turn, and the
    /// query cut at every length: the engine answers or drops, never traps, and a NOTAUTH always
    /// ends with a TSIG.
    @Test func mutatedSignedQueriesNeverTrap() throws {
        let snap = try GoldenAnswerTests.snapshot()
        let engine = Self.engine()
        let base = try Self.signedQuery(edns: true)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { out.deallocate() }
        var packets: [[UInt8]] = (0..<base.count).map { Array(base[0..<$0]) }
        for i in 0..<base.count {
            for v: UInt8 in [0x00, 0x01, 0x3f, 0xc0, 0xff] {
                var p = base
                p[i] = v
                packets.append(p)
            }
        }
        for p in packets {
            let n = p.withUnsafeBytes { engine.respond(to: $0, transport: .udp, snapshot: snap, into: out) }
            guard n > 0 else { continue }
            #expect(n <= 1232)   // the OPT of the unmutated query advertises 1232; without one, 512
            if let m = try? Message(bytes: Array(out[0..<n])), m.rcode == .notAuth {
                #expect(m.additional.last?.type == .tsig)
            }
        }
    }
}
