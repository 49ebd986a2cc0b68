import Testing
@testable import DNSWire

/// Message structure as NSD's query.c enforces it (RFC 6891 §6.1.1, RFC 8945 §5.1): a QUERY has no
/// answer records, authority records only for IXFR, and in additional at most one OPT then at most
/// one TSIG. Each case was checked against NSD 4.6.1 (Tests/conformance/structure.corpus).
@Suite struct MessageStructureTests {
    static let www = try! DomainName("www.conf.example.")

    /// A question for www.conf.example. (or `qtype` at conf.example.) followed by raw sections.
    static func packet(opcode: UInt8 = 0, qtype: RecordType = .a, an: [[UInt8]] = [], ns: [[UInt8]] = [],
                       ar: [[UInt8]] = []) -> [UInt8] {
        let name = qtype == .a ? www : try! DomainName("conf.example.")
        var m: [UInt8] = [0x12, 0x34, opcode << 3 | 0x01, 0, 0, 1, 0, UInt8(an.count), 0, UInt8(ns.count), 0, UInt8(ar.count)]
        m += name.wire + [UInt8(qtype.rawValue >> 8), UInt8(qtype.rawValue & 0xff), 0, 1]
        for r in an + ns + ar { m += r }
        return m
    }

    static func rr(_ owner: String, _ type: UInt16, cls: UInt16 = 1, ttl: UInt32 = 300, _ rdata: [UInt8]) -> [UInt8] {
        try! DomainName(owner).wire + [UInt8(type >> 8), UInt8(type & 0xff), UInt8(cls >> 8), UInt8(cls & 0xff),
                                       UInt8(ttl >> 24), UInt8((ttl >> 16) & 0xff), UInt8((ttl >> 8) & 0xff), UInt8(ttl & 0xff),
                                       UInt8(rdata.count >> 8), UInt8(rdata.count & 0xff)] + rdata
    }

    static let a = rr("www.conf.example.", 1, [192, 0, 2, 1])
    static let opt: [UInt8] = [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]
    static let soa = rr("conf.example.", 6, try! DomainName("ns1.conf.example.").wire + [0] + [UInt8](repeating: 1, count: 20))

    /// A TSIG record: key `key.example.`, hmac-sha256, a 32-octet MAC, original ID 0xbeef.
    static func tsig(key: String = "key.example.", cls: UInt16 = 255, ttl: UInt32 = 0, time: UInt64 = 1_700_000_000,
                     fudge: UInt16 = 300, macSize: Int = 32, other: [UInt8] = [], cut: Int = 0) -> [UInt8] {
        var rd = try! DomainName("hmac-sha256.").wire
        rd += [UInt8((time >> 40) & 0xff), UInt8((time >> 32) & 0xff), UInt8((time >> 24) & 0xff),
               UInt8((time >> 16) & 0xff), UInt8((time >> 8) & 0xff), UInt8(time & 0xff)]
        rd += [UInt8(fudge >> 8), UInt8(fudge & 0xff), UInt8(macSize >> 8), UInt8(macSize & 0xff)]
        rd += [UInt8](repeating: 0x11, count: min(macSize, 32))
        rd += [0xbe, 0xef, 0, 0, UInt8(other.count >> 8), UInt8(other.count & 0xff)] + other
        return rr(key, 250, cls: cls, ttl: ttl, Array(rd.dropLast(cut)))
    }

    static func rcode(_ p: [UInt8]) -> ResponseCode? {
        guard case let .error(rc, _, _, _) = parse(p) else { return nil }
        return rc
    }

    @Test(arguments: [
        ("an A record in the answer section", packet(an: [a])),
        ("an OPT in the answer section", packet(an: [opt])),
        ("an OPT in the authority section", packet(ns: [opt])),
        ("an NS record in the authority section", packet(ns: [rr("conf.example.", 2, try! DomainName("ns1.conf.example.").wire)])),
        ("a TSIG in the answer section", packet(an: [tsig()])),
        ("an SOA in the authority section of AXFR", packet(qtype: .axfr, ns: [soa])),
        ("an SOA in the answer section of IXFR", packet(qtype: .ixfr, an: [soa])),
        ("two OPT records", packet(ar: [opt, opt])),
        ("an A record in the additional section", packet(ar: [a])),
        ("an A record after the OPT", packet(ar: [opt, a])),
        ("an A record before the OPT", packet(ar: [a, opt])),
        ("a TSIG before the OPT", packet(ar: [tsig(), opt])),
        ("a TSIG before an A record", packet(ar: [tsig(), a])),
        ("two TSIG records", packet(ar: [tsig(), tsig()])),
        ("a TSIG of class IN (not a TSIG: an unknown record)", packet(ar: [tsig(cls: 1)])),
        ("a TSIG with TTL 300", packet(ar: [tsig(ttl: 300)])),
        ("a TSIG cut inside its RDATA", packet(ar: [tsig(cut: 3)])),
        ("a TSIG whose MAC runs past the message", packet(ar: [tsig(macSize: 200)])),
        ("a TSIG with 20 octets of other data", packet(ar: [tsig(other: [UInt8](repeating: 0, count: 20))])),
    ])
    func misplacedRecordsInAQueryAreFormErr(why: String, packet: [UInt8]) {
        #expect(Self.rcode(packet) == .formErr, "\(why)")
    }

    @Test func answerCountIsRefusedBeforeTheRecordsAreRead() {
        // ANCOUNT 1 and nothing after the question: FORMERR from the count alone (NSD does not read them).
        var p = Self.packet()
        p[7] = 1
        #expect(Self.rcode(p) == .formErr)
    }

    @Test func ixfrMayCarryItsSOAInAuthority() {
        guard case let .query(q) = parse(Self.packet(qtype: .ixfr, ns: [Self.soa])) else { Issue.record("not parsed"); return }
        #expect(q.qtype == .ixfr)
    }

    @Test func notifyKeepsItsSOAInTheAnswerSection() {
        // NOTIFY (opcode 4) carries the SOA in answer (RFC 1996 §3.7); the structure rules are for QUERY.
        guard case let .query(q) = parse(Self.packet(opcode: Opcode.notify, qtype: .soa, an: [Self.soa])) else {
            Issue.record("not parsed"); return
        }
        #expect(q.opcode == Opcode.notify)
    }

    @Test func anOPTThenATSIGParsesBoth() throws {
        guard case let .query(q) = parse(Self.packet(ar: [Self.opt, Self.tsig(key: "Key.Example.", fudge: 17)])) else {
            Issue.record("not parsed"); return
        }
        #expect(q.edns?.udpSize == 1232)
        let t = try #require(q.tsig)
        #expect(t.keyName.wire == (try DomainName("Key.Example.")).wire)
        #expect(t.algorithm == (try DomainName("hmac-sha256.")))
        #expect(t.timeSigned == 1_700_000_000)
        #expect(t.fudge == 17)
        #expect(t.mac == [UInt8](repeating: 0x11, count: 32))
        #expect(t.originalID == 0xbeef)
        #expect(t.error == 0)
        #expect(t.recordOffset == Self.packet(ar: [Self.opt]).count)
    }

    @Test func aTSIGAloneParses() throws {
        guard case let .query(q) = parse(Self.packet(ar: [Self.tsig(other: [0, 0, 0, 0, 0, 1])])) else {
            Issue.record("not parsed"); return
        }
        #expect(q.edns == nil)
        #expect(try #require(q.tsig).otherData == [0, 0, 0, 0, 0, 1])
    }

    @Test func aTSIGWithTrailingOctetsInsideItsRDATAParses() throws {
        // NSD reads the fields and does not hold them to RDLENGTH: NOTAUTH, not FORMERR.
        var t = Self.tsig()
        t += [0, 0, 0, 0]
        let rdlenAt = (try DomainName("key.example.")).wire.count + 8
        t[rdlenAt + 1] += 4
        guard case let .query(q) = parse(Self.packet(ar: [t])) else { Issue.record("not parsed"); return }
        #expect(q.tsig != nil)
    }

    @Test func anUnsignedQueryHasNoTSIG() {
        guard case let .query(q) = parse(Self.packet(ar: [Self.opt])) else { Issue.record("not parsed"); return }
        #expect(q.tsig == nil)
    }
}
