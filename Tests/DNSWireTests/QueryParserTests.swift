import Testing
@testable import DNSWire

func parse(_ bytes: [UInt8]) -> ParseOutcome {
    bytes.withUnsafeBytes { QueryParser.parse($0) }
}

func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
    return out
}

@Suite struct QueryParserTests {
    let www = try! DomainName("www.conf.example.")

    @Test func aPlainQueryParses() throws {
        let q = QueryBuilder.make(id: 7, name: www, type: .aaaa, rd: true)
        guard case let .query(p) = parse(q) else { Issue.record("not parsed"); return }
        #expect(p.id == 7)
        #expect(p.qname == www)
        #expect(p.qtype == .aaaa)
        #expect(p.rd)
        #expect(p.edns == nil)
    }

    @Test func ednsFieldsAndClientSubnetAreRead() throws {
        let ecs = QueryBuilder.clientSubnet(address: [203, 0, 113, 77], prefix: 24)
        let q = QueryBuilder.make(name: www, type: .a, edns: (4096, true), options: [ecs, (10, [1, 2, 3, 4, 5, 6, 7, 8])])
        guard case let .query(p) = parse(q), let e = p.edns else { Issue.record("not parsed"); return }
        #expect(e.udpSize == 4096)
        #expect(e.dnssecOK)
        #expect(e.clientSubnet == ClientSubnet(family: 1, sourcePrefix: 24, scopePrefix: 0, address: [203, 0, 113, 0]))
        #expect(e.cookie?.count == 8)
    }

    @Test func shortPacketsAndResponsesGetNoReply() {
        guard case .drop = parse([1, 2, 3]) else { Issue.record("short packet answered"); return }
        guard case .drop = parse([]) else { Issue.record("empty packet answered"); return }
        guard case .drop = parse(hex("0103800000010000000000000377777704636f6e66076578616d706c650000010001")) else {
            Issue.record("QR=1 answered"); return
        }
    }

    @Test(arguments: [
        ("010200000000000000000000", "no question"),
        ("0104000000010000000000000377777704636f6e66076578616d706c6500", "question cut after the name"),
        ("01050000000100000000000040616161616161616161610000010001", "extended label type"),
        ("010600000001000000000000c00c00010001", "pointer to itself"),
        ("010600000001000000000000c01000010001", "forward pointer"),
        ("0108000000010000000000010377777704636f6e66076578616d706c650000010001", "ARCOUNT lies"),
        ("0109000000020000000000000377777704636f6e66076578616d706c650000010001", "QDCOUNT 2, one question"),
        ("010a0000000100010000000003777777000001000103777777000001000100000e10000a0102", "answer RR cut short"),
    ])
    func malformedQueriesAreFormErr(packet: String, why: String) {
        guard case let .error(rc, _, _, _) = parse(hex(packet)) else { Issue.record("\(why): not an error"); return }
        #expect(rc == .formErr, "\(why)")
    }

    @Test func twoOPTRecordsAreFormErr() {
        var q = QueryBuilder.make(name: www, type: .a, edns: (1232, false))
        q[11] = 2
        q += [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]
        guard case let .error(rc, _, _, _) = parse(q) else { Issue.record("accepted"); return }
        #expect(rc == .formErr)
    }

    @Test func malformedClientSubnetIsFormErr() {
        // Source /24 but four address octets; a non-zero scope; an unknown family.
        for data: [UInt8] in [[0, 1, 24, 0, 1, 2, 3, 4], [0, 1, 24, 8, 1, 2, 3], [0, 9, 8, 0, 1], [0, 1, 23, 0, 1, 2, 3]] {
            let q = QueryBuilder.make(name: www, type: .a, edns: (1232, false), options: [(8, data)])
            guard case let .error(rc, _, _, _) = parse(q) else { Issue.record("accepted \(data)"); return }
            #expect(rc == .formErr)
        }
    }

    @Test func labelsOver63AndNamesOver255AreRejected() {
        var long: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        for _ in 0..<5 { long += [60] + [UInt8](repeating: 97, count: 60) }
        long += [0, 0, 1, 0, 1]
        guard case .error(.formErr, _, _, _) = parse(long) else { Issue.record("long name accepted"); return }
        let bigLabel: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64] + [UInt8](repeating: 97, count: 64) + [0, 0, 1, 0, 1]
        guard case .error(.formErr, _, _, _) = parse(bigLabel) else { Issue.record("64-octet label accepted"); return }
    }

    @Test func trailingBytesAreIgnored() {
        let q = hex("0107000000010000000000000377777704636f6e66076578616d706c650000010001ff")
        guard case .query = parse(q) else { Issue.record("trailing byte rejected"); return }
    }

    @Test func randomGarbageNeverTraps() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let n = Int.random(in: 0..<80, using: &rng)
            var b = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if b.count > 3 { b[2] &= 0x7f }
            _ = parse(b)
        }
    }
}
