import Testing
@testable import DNSWire

@Suite struct MessageWriterTests {
    func write(_ body: (MessageWriter) -> Void) -> [UInt8] {
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buf.deallocate() }
        let w = MessageWriter()
        w.reset(buffer: buf, limit: 4096)
        body(w)
        return Array(buf[0..<w.position])
    }

    @Test func ownerNamesCompressToTheQuestion() throws {
        let name = try DomainName("www.Example.com.")
        let bytes = write { w in
            w.header(id: 0xabcd, flags: 0x8400)
            _ = w.question(name, type: 1, qclass: 1)
            _ = w.record(owner: try! DomainName("WWW.example.COM."), EncodedRecord(type: .a, ttl: 300, rdata: [192, 0, 2, 1]))
            w.setCounts(qd: 1, an: 1, ns: 0, ar: 0)
        }
        // Golden packet: header, question, answer whose owner is a pointer to offset 12.
        let golden: [UInt8] = [0xab, 0xcd, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0,
                               3, 119, 119, 119, 7, 69, 120, 97, 109, 112, 108, 101, 3, 99, 111, 109, 0, 0, 1, 0, 1,
                               0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1]
        #expect(bytes == golden)
        let m = try Message(bytes: bytes)
        #expect(m.answer.first?.description == "www.Example.com. 300 IN A 192.0.2.1")
    }

    @Test func rdataNamesOfRFC1035TypesAreCompressedAndOthersAreNot() throws {
        let apex = try DomainName("example.com.")
        let mx = try DomainName("mail.example.com.")
        let bytes = write { w in
            w.header(id: 1, flags: 0x8400)
            _ = w.question(apex, type: 15, qclass: 1)
            _ = w.record(owner: apex, EncodedRecord(type: .mx, ttl: 60, rdata: [0, 10] + mx.wire))
            _ = w.record(owner: apex, EncodedRecord(type: .srv, ttl: 60, rdata: [0, 1, 0, 2, 0, 3] + mx.wire))
            w.setCounts(qd: 1, an: 2, ns: 0, ar: 0)
        }
        // MX: owner pointer (2) + fixed (8) + rdlen (2) + pref (2) + "mail" + pointer (7).
        let mxStart = 12 + apex.wire.count + 4
        #expect(Array(bytes[(mxStart + 10)..<(mxStart + 12)]) == [0, 9])
        // SRV target is written in full (RFC 2782: no compression).
        let srvStart = mxStart + 12 + 9
        #expect(Array(bytes[(srvStart + 10)..<(srvStart + 12)]) == [0, UInt8(6 + mx.wire.count)])
        let m = try Message(bytes: bytes)
        #expect(m.answer.map(\.description) == ["example.com. 60 IN MX 10 mail.example.com.",
                                                "example.com. 60 IN SRV 1 2 3 mail.example.com."])
    }

    @Test func aRecordThatDoesNotFitWritesNothing() throws {
        let name = try DomainName("example.com.")
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 8)
        defer { buf.deallocate() }
        let w = MessageWriter()
        w.reset(buffer: buf, limit: 40)
        w.header(id: 1, flags: 0)
        _ = w.question(name, type: 1, qclass: 1)
        let before = w.position
        #expect(!w.record(owner: name, EncodedRecord(type: .txt, ttl: 1, rdata: [20] + [UInt8](repeating: 65, count: 20))))
        #expect(w.position == before)
    }
}
