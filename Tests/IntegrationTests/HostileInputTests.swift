import DNSWire
import Foundation
import Testing

func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
    return out
}

/// Malformed input never crashes or stalls the server: after each bad packet a
/// good query is still answered, over UDP and TCP (RFC 1035, 6891, 8906).
@Suite(.serialized) struct HostileInputTests {
    static let zones = Paths.fixture("Tests/conformance/zones").path
    static let www = hexBytes("0377777704636f6e66076578616d706c6500")  // www.conf.example.

    static var badPackets: [(String, [UInt8], ResponseCode?)] {
        let hdr: (UInt16, UInt16, UInt16, UInt16) -> [UInt8] = { qd, an, ns, ar in
            [0x12, 0x34, 0, 0, UInt8(qd >> 8), UInt8(qd & 0xff), UInt8(an >> 8), UInt8(an & 0xff),
             UInt8(ns >> 8), UInt8(ns & 0xff), UInt8(ar >> 8), UInt8(ar & 0xff)]
        }
        var longName: [UInt8] = []
        for _ in 0..<5 { longName += [60] + [UInt8](repeating: 97, count: 60) }
        longName += [0]
        return [
            ("empty datagram", [], nil),
            ("truncated header", [0x12, 0x34, 0, 0, 0, 1], nil),
            ("QR=1", [0x12, 0x34, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0] + www + [0, 1, 0, 1], nil),
            ("no question", hdr(0, 0, 0, 0), .formErr),
            ("label of 64", hdr(1, 0, 0, 0) + [64] + [UInt8](repeating: 97, count: 64) + [0, 0, 1, 0, 1], .formErr),
            ("name over 255", hdr(1, 0, 0, 0) + longName + [0, 1, 0, 1], .formErr),
            ("compression loop", hdr(1, 0, 0, 0) + [0xc0, 12, 0, 1, 0, 1], .formErr),
            ("forward pointer", hdr(1, 0, 0, 0) + [0xc0, 20, 0, 1, 0, 1, 0, 0], .formErr),
            ("QDCOUNT lies", hdr(3, 0, 0, 0) + www + [0, 1, 0, 1], .formErr),
            ("ARCOUNT lies", hdr(1, 0, 0, 2) + www + [0, 1, 0, 1], .formErr),
            ("ANCOUNT lies", hdr(1, 5, 0, 0) + www + [0, 1, 0, 1], .formErr),
            ("two OPTs", hdr(1, 0, 0, 2) + www + [0, 1, 0, 1] + [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0], .formErr),
            ("OPT rdlen past the end", hdr(1, 0, 0, 1) + www + [0, 1, 0, 1] + [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 40, 0, 8], .formErr),
            ("OPT option past its record", hdr(1, 0, 0, 1) + www + [0, 1, 0, 1] + [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 4, 0, 8, 0, 9], .formErr),
            ("bad ECS", hdr(1, 0, 0, 1) + www + [0, 1, 0, 1] + [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 8, 0, 8, 0, 4, 0, 1, 33, 0], .formErr),
            ("question cut", hdr(1, 0, 0, 0) + www + [0], .formErr),
            ("trailing bytes", hdr(1, 0, 0, 0) + www + [0, 1, 0, 1] + [0xde, 0xad, 0xbe, 0xef], .noError),
            ("unknown opcode", [0x12, 0x34, 0x70, 0, 0, 1, 0, 0, 0, 0, 0, 0] + www + [0, 1, 0, 1], .notImp),
        ]
    }

    @Test func everyMalformedDatagramGetsTheRightOutcomeAndTheServerStaysUp() throws {
        let server = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--udp-workers", "1"])
        for (why, bytes, expected) in Self.badPackets {
            let reply = DNSClient.udpRaw(bytes, port: server.port, timeout: expected == nil ? 0.3 : 2)
            if let expected {
                let r = try #require(reply, "\(why): no reply")
                #expect(r.count >= 12 && r[2] & 0x80 != 0, "\(why): not a response")
                #expect(ResponseCode(rawValue: UInt16(r[3] & 0xf)) == expected, "\(why)")
                #expect(r[0] == 0x12 && r[1] == 0x34, "\(why): id not echoed")
            } else {
                #expect(reply == nil, "\(why): answered")
            }
            let ok = try DNSClient.udp("www.conf.example.", .a, port: server.port)
            #expect(ok.rcode == .noError, "after \(why)")
        }
    }

    @Test func ednsVersionOneGetsBadVers() throws {
        let server = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0"])
        var q = QueryBuilder.make(name: try DomainName("conf.example."), type: .soa, edns: (1232, false))
        q[q.count - 5] = 1  // OPT TTL byte 2 = version
        let m = try Message(bytes: try #require(DNSClient.udpRaw(q, port: server.port)))
        #expect(m.rcode == .badVers)
        #expect(m.answer.isEmpty)
        #expect(m.opt != nil)
    }

    @Test func garbageOnTCPNeverStallsTheServer() throws {
        let server = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--tcp-idle-timeout", "2"])
        let streams: [(String, [UInt8])] = [
            ("zero length frame", [0, 0]),
            ("length larger than what follows", [0xff, 0xff, 1, 2, 3]),
            ("one byte", [0x42]),
            ("frame shorter than a header", [0, 5, 1, 2, 3, 4, 5]),
            ("garbage frame", [0, 40] + (0..<40).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }),
            ("compression loop", DNSClient.framed([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])),
        ]
        for (why, bytes) in streams {
            let fd = try DNSClient.tcpConnect(port: server.port)
            DNSClient.tcpSend(fd, bytes)
            // Whatever happens to that connection, a new one is answered at once.
            let ok = try DNSClient.tcp("www.conf.example.", .a, port: server.port)
            #expect(ok.rcode == .noError, "after \(why)")
            close(fd)
        }
        // A good query after a bad frame on the same connection still gets its answer.
        let fd = try DNSClient.tcpConnect(port: server.port)
        defer { close(fd) }
        DNSClient.tcpSend(fd, DNSClient.framed([0x12, 0x34, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0]) +
                          DNSClient.framed(QueryBuilder.make(id: 77, name: try DomainName("www.conf.example."), type: .a)))
        let r = try Message(bytes: try #require(DNSClient.tcpReadMessage(fd)))
        #expect(r.id == 77)
    }
}
