/// A whole DNS message decoded: for tests, the drill prober and tools (the
/// server's query path uses `QueryParser`, which reads only what it needs).
public struct Message: Sendable, CustomStringConvertible {
    public var id: UInt16
    public var flags: UInt16
    public var questions: [(name: DomainName, type: RecordType, qclass: UInt16)]
    public var answer: [ResourceRecord]
    public var authority: [ResourceRecord]
    /// Without the OPT record (see `opt`).
    public var additional: [ResourceRecord]
    public var opt: ResourceRecord?

    public var rcode: ResponseCode {
        let ext = UInt16(opt.map { UInt8(($0.ttl >> 24) & 0xff) } ?? 0)
        return ResponseCode(rawValue: ext << 4 | (flags & 0xF))
    }
    public var qr: Bool { flags & 0x8000 != 0 }
    public var aa: Bool { flags & 0x0400 != 0 }
    public var tc: Bool { flags & 0x0200 != 0 }
    public var rd: Bool { flags & 0x0100 != 0 }
    public var opcode: UInt8 { UInt8((flags >> 11) & 0xF) }

    /// Options of the OPT record as (code, data).
    public var ednsOptions: [(code: UInt16, data: [UInt8])] {
        guard let o = opt else { return [] }
        var out: [(UInt16, [UInt8])] = []
        var i = 0
        let d = o.rdata
        while i + 4 <= d.count {
            let code = UInt16(d[i]) << 8 | UInt16(d[i + 1])
            let len = Int(UInt16(d[i + 2]) << 8 | UInt16(d[i + 3]))
            guard i + 4 + len <= d.count else { break }
            out.append((code, Array(d[(i + 4)..<(i + 4 + len)])))
            i += 4 + len
        }
        return out
    }

    public init(bytes: [UInt8]) throws(WireError) {
        let r: Result<Message, WireError> = bytes.withUnsafeBytes { buf in
            do throws(WireError) { return .success(try Message(buffer: buf)) } catch { return .failure(error) }
        }
        self = try r.get()
    }

    public init(buffer buf: UnsafeRawBufferPointer) throws(WireError) {
        guard buf.count >= 12 else { throw WireError.tooShort }
        func u16(_ o: Int) -> UInt16 { UInt16(buf[o]) << 8 | UInt16(buf[o + 1]) }
        id = u16(0)
        flags = u16(2)
        let qd = Int(u16(4)), an = Int(u16(6)), ns = Int(u16(8)), ar = Int(u16(10))
        var pos = 12
        questions = []
        for _ in 0..<qd {
            let n = try QueryParser.readName(buf, at: &pos)
            guard pos + 4 <= buf.count else { throw WireError.tooShort }
            questions.append((n, RecordType(u16(pos)), u16(pos + 2)))
            pos += 4
        }
        func readRR() throws(WireError) -> ResourceRecord {
            let n = try QueryParser.readName(buf, at: &pos)
            guard pos + 10 <= buf.count else { throw WireError.tooShort }
            let t = RecordType(u16(pos)), c = u16(pos + 2)
            let ttl = UInt32(u16(pos + 4)) << 16 | UInt32(u16(pos + 6))
            let len = Int(u16(pos + 8))
            pos += 10
            guard pos + len <= buf.count else { throw WireError.tooShort }
            let end = pos + len
            // Decompress the names inside RDATA so that records compare by content.
            let layout = t.rdataNames
            var rdata: [UInt8]
            if layout.count > 0 && layout.fixedPrefix <= len {
                rdata = Array(UnsafeRawBufferPointer(rebasing: buf[pos..<(pos + layout.fixedPrefix)]))
                var p = pos + layout.fixedPrefix
                for _ in 0..<layout.count {
                    var q = p
                    let nn = try QueryParser.readName(UnsafeRawBufferPointer(rebasing: buf[0..<end]), at: &q)
                    rdata += nn.wire
                    p = q
                }
                if p < end { rdata += Array(UnsafeRawBufferPointer(rebasing: buf[p..<end])) }
            } else {
                rdata = Array(UnsafeRawBufferPointer(rebasing: buf[pos..<end]))
            }
            pos = end
            return ResourceRecord(name: n, type: t, rclass: c, ttl: ttl, rdata: rdata)
        }
        answer = []
        authority = []
        additional = []
        opt = nil
        for _ in 0..<an { answer.append(try readRR()) }
        for _ in 0..<ns { authority.append(try readRR()) }
        for _ in 0..<ar {
            let rr = try readRR()
            if rr.type == .opt { opt = rr } else { additional.append(rr) }
        }
    }

    /// dig-like text: header line, flags, then each section.
    public var description: String {
        var s = "rcode: \(rcode) flags:"
        for (bit, name) in [(UInt16(0x8000), "qr"), (0x0400, "aa"), (0x0200, "tc"), (0x0100, "rd"), (0x0080, "ra"), (0x0020, "ad"), (0x0010, "cd")]
        where flags & bit != 0 { s += " " + name }
        s += "\n"
        if let o = opt {
            s += "edns: version \((o.ttl >> 16) & 0xff) udp \(o.rclass)\(o.ttl & 0x8000 != 0 ? " do" : "")"
            for opt in ednsOptions { s += " opt\(opt.code)=" + opt.data.map { RDataText.hex2($0) }.joined() }
            s += "\n"
        }
        for q in questions { s += "question: \(q.name) \(q.qclass == 1 ? "IN" : "CLASS\(q.qclass)") \(q.type)\n" }
        for (title, sec) in [("answer", answer), ("authority", authority), ("additional", additional)] where !sec.isEmpty {
            s += ";; \(title)\n"
            for rr in sec { s += rr.description + "\n" }
        }
        return s
    }
}

/// Builds query messages (tests, drills, tools).
public enum QueryBuilder {
    public static func make(id: UInt16 = 0x1234, name: DomainName, type: RecordType, qclass: UInt16 = RecordClass.in,
                            rd: Bool = false, edns: (udpSize: UInt16, dnssecOK: Bool)? = nil,
                            options: [(code: UInt16, data: [UInt8])] = []) -> [UInt8] {
        var m: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), rd ? 0x01 : 0x00, 0, 0, 1, 0, 0, 0, 0, 0, edns == nil ? 0 : 1]
        m += name.wire
        m += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), UInt8(qclass >> 8), UInt8(qclass & 0xff)]
        if let e = edns {
            var opts: [UInt8] = []
            for o in options { opts += [UInt8(o.code >> 8), UInt8(o.code & 0xff), UInt8(o.data.count >> 8), UInt8(o.data.count & 0xff)] + o.data }
            m += [0, 0, 41, UInt8(e.udpSize >> 8), UInt8(e.udpSize & 0xff), 0, 0, e.dnssecOK ? 0x80 : 0, 0,
                  UInt8(opts.count >> 8), UInt8(opts.count & 0xff)] + opts
        }
        return m
    }

    /// An ECS option payload for `address/prefix` (IPv4 or IPv6 bytes).
    public static func clientSubnet(address: [UInt8], prefix: UInt8) -> (code: UInt16, data: [UInt8]) {
        let family: UInt16 = address.count == 4 ? 1 : 2
        let n = (Int(prefix) + 7) / 8
        var a = Array(address.prefix(n))
        if prefix % 8 != 0, n > 0 { a[n - 1] &= ~(UInt8(0xff) >> (prefix % 8)) }
        return (8, [UInt8(family >> 8), UInt8(family & 0xff), prefix, 0] + a)
    }
}
