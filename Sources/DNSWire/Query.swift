/// EDNS Client Subnet (RFC 7871) as sent by the client.
public struct ClientSubnet: Hashable, Sendable {
    /// 1 = IPv4, 2 = IPv6.
    public var family: UInt16
    public var sourcePrefix: UInt8
    public var scopePrefix: UInt8
    /// The address padded to 4 or 16 octets (bits past the prefix are zero).
    public var address: [UInt8]

    public init(family: UInt16, sourcePrefix: UInt8, scopePrefix: UInt8, address: [UInt8]) {
        self.family = family
        self.sourcePrefix = sourcePrefix
        self.scopePrefix = scopePrefix
        self.address = address
    }

    /// Option payload as sent back: family, source prefix, the given scope, truncated address.
    public func wire(scope: UInt8) -> [UInt8] {
        let n = (Int(sourcePrefix) + 7) / 8
        return [UInt8(family >> 8), UInt8(family & 0xff), sourcePrefix, scope] + Array(address.prefix(n))
    }
}

/// The OPT pseudo-record of a query (RFC 6891).
public struct EDNSInfo: Sendable {
    public var udpSize: UInt16
    public var extendedRcode: UInt8
    public var version: UInt8
    public var dnssecOK: Bool
    public var clientSubnet: ClientSubnet?
    public var nsidRequested: Bool
    public var cookie: [UInt8]?
}

/// The TSIG record of a query (RFC 8945 §4.2), read only when the query carries one. A class,
/// so that an unsigned `Query` holds one nil pointer rather than 80 octets of fields.
public final class TSIGInfo: Sendable {
    /// Offset of the TSIG record in the query: the signed message is the bytes before it
    /// (with ARCOUNT one less and the original ID).
    public let recordOffset: Int
    /// Key and algorithm names as received (uncompressed; `key` is their lower-cased form).
    public let keyName: DomainName
    public let algorithm: DomainName
    /// Seconds since the epoch, 48 bits.
    public let timeSigned: UInt64
    public let fudge: UInt16
    public let mac: [UInt8]
    public let originalID: UInt16
    public let error: UInt16
    public let otherData: [UInt8]

    public init(recordOffset: Int, keyName: DomainName, algorithm: DomainName, timeSigned: UInt64, fudge: UInt16,
                mac: [UInt8], originalID: UInt16, error: UInt16, otherData: [UInt8]) {
        self.recordOffset = recordOffset
        self.keyName = keyName
        self.algorithm = algorithm
        self.timeSigned = timeSigned
        self.fudge = fudge
        self.mac = mac
        self.originalID = originalID
        self.error = error
        self.otherData = otherData
    }
}

/// A parsed query: header fields, the question and EDNS. Only what answering needs.
public struct Query: Sendable {
    public var id: UInt16
    /// The second header word as received (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE).
    public var flags: UInt16
    public var qname: DomainName
    public var qtype: RecordType
    public var qclass: UInt16
    public var edns: EDNSInfo?
    /// Set when the query is signed (the last additional record is a TSIG).
    public var tsig: TSIGInfo?

    public var opcode: UInt8 { UInt8((flags >> 11) & 0xF) }
    public var rd: Bool { flags & 0x0100 != 0 }
    public var cd: Bool { flags & 0x0010 != 0 }
}

/// What to do with a datagram, decided by `QueryParser.parse`.
public enum ParseOutcome: Sendable {
    /// Shorter than a header, or QR=1: send nothing (RFC 1035 / RFC 8906 §3.1.1).
    case drop
    /// Malformed: answer with this RCODE. `query` has what could be read (question
    /// only when it parsed completely).
    case error(ResponseCode, id: UInt16, flags: UInt16, question: Query?)
    case query(Query)
}

public enum QueryParser {
    /// Parses a query message. Never traps on any input.
    public static func parse(_ buf: UnsafeRawBufferPointer) -> ParseOutcome {
        guard buf.count >= 12 else { return .drop }
        let id = UInt16(buf[0]) << 8 | UInt16(buf[1])
        let flags = UInt16(buf[2]) << 8 | UInt16(buf[3])
        if flags & 0x8000 != 0 { return .drop }
        let qd = UInt16(buf[4]) << 8 | UInt16(buf[5])
        let an = Int(UInt16(buf[6]) << 8 | UInt16(buf[7]))
        let ns = Int(UInt16(buf[8]) << 8 | UInt16(buf[9]))
        let ar = Int(UInt16(buf[10]) << 8 | UInt16(buf[11]))
        let opcode = UInt8((flags >> 11) & 0xF)

        guard qd == 1 else {
            if opcode != Opcode.query && opcode != Opcode.notify { return .error(.notImp, id: id, flags: flags, question: nil) }
            return .error(.formErr, id: id, flags: flags, question: nil)
        }
        var pos = 12
        let qname: DomainName
        do { qname = try readName(buf, at: &pos) } catch {
            return .error(.formErr, id: id, flags: flags, question: nil)
        }
        guard pos + 4 <= buf.count else { return .error(.formErr, id: id, flags: flags, question: nil) }
        let qtype = RecordType(UInt16(buf[pos]) << 8 | UInt16(buf[pos + 1]))
        let qclass = UInt16(buf[pos + 2]) << 8 | UInt16(buf[pos + 3])
        pos += 4
        var q = Query(id: id, flags: flags, qname: qname, qtype: qtype, qclass: qclass, edns: nil, tsig: nil)

        // A QUERY carries no answer records, and authority records only for IXFR (its SOA);
        // its additional section holds at most an OPT, then at most a TSIG, and nothing else
        // (RFC 6891 §6.1.1, RFC 8945 §5.1; NSD's query.c enforces exactly this).
        let strict = opcode == Opcode.query
        if strict && (an != 0 || (ns != 0 && qtype != .ixfr)) {
            return .error(.formErr, id: id, flags: flags, question: q)
        }
        // Answer and authority (NOTIFY carries an SOA; UPDATE prerequisites): skip, but they must parse.
        for _ in 0..<(an + ns) {
            guard skipRecord(buf, at: &pos) else { return .error(.formErr, id: id, flags: flags, question: q) }
        }
        var sawOPT = false
        for i in 0..<ar {
            let start = pos
            guard (try? readName(buf, at: &pos)) != nil, pos + 10 <= buf.count else {
                return .error(.formErr, id: id, flags: flags, question: q)
            }
            let type = UInt16(buf[pos]) << 8 | UInt16(buf[pos + 1])
            let rdlen = Int(UInt16(buf[pos + 8]) << 8 | UInt16(buf[pos + 9]))
            guard pos + 10 + rdlen <= buf.count else { return .error(.formErr, id: id, flags: flags, question: q) }
            if strict && type == RecordType.tsig.rawValue && (UInt16(buf[pos + 2]) << 8 | UInt16(buf[pos + 3])) == RecordClass.any {
                // The last record, and only one (RFC 8945 §5.1): a TSIG before the OPT or before anything is FORMERR.
                guard i == ar - 1, let t = parseTSIG(buf, record: start, fixed: pos) else {
                    return .error(.formErr, id: id, flags: flags, question: q)
                }
                q.tsig = t
                pos += 10 + rdlen
                continue
            }
            if type == RecordType.opt.rawValue && pos == start + 1 && buf[start] == 0 {
                // One OPT, owned by the root (RFC 6891 §6.1.1).
                guard !sawOPT else {
                    return .error(.formErr, id: id, flags: flags, question: q)
                }
                sawOPT = true
                let udp = UInt16(buf[pos + 2]) << 8 | UInt16(buf[pos + 3])
                let ext = buf[pos + 4]
                let ver = buf[pos + 5]
                let eflags = UInt16(buf[pos + 6]) << 8 | UInt16(buf[pos + 7])
                var info = EDNSInfo(udpSize: udp, extendedRcode: ext, version: ver, dnssecOK: eflags & 0x8000 != 0,
                                    clientSubnet: nil, nsidRequested: false, cookie: nil)
                var o = pos + 10
                let end = o + rdlen
                while o < end {
                    guard o + 4 <= end else { return .error(.formErr, id: id, flags: flags, question: q) }
                    let code = UInt16(buf[o]) << 8 | UInt16(buf[o + 1])
                    let olen = Int(UInt16(buf[o + 2]) << 8 | UInt16(buf[o + 3]))
                    o += 4
                    guard o + olen <= end else { return .error(.formErr, id: id, flags: flags, question: q) }
                    switch code {
                    case 3: info.nsidRequested = true
                    case 8:
                        guard let ecs = parseECS(buf, from: o, length: olen) else {
                            q.edns = info
                            return .error(.formErr, id: id, flags: flags, question: q)
                        }
                        // A second ECS option is malformed too.
                        guard info.clientSubnet == nil else {
                            q.edns = info
                            return .error(.formErr, id: id, flags: flags, question: q)
                        }
                        info.clientSubnet = ecs
                    case 10:
                        // Client cookie 8 octets, optional server cookie 8..32 (RFC 7873 §5.2.2).
                        guard olen == 8 || (olen >= 16 && olen <= 40) else {
                            q.edns = info
                            return .error(.formErr, id: id, flags: flags, question: q)
                        }
                        info.cookie = Array(UnsafeRawBufferPointer(rebasing: buf[o..<(o + olen)]))
                    default: break
                    }
                    o += olen
                }
                q.edns = info
            } else if strict || type == RecordType.opt.rawValue {
                // Any other record in a QUERY's additional section, or an OPT not owned by the root.
                return .error(.formErr, id: id, flags: flags, question: q)
            }
            pos += 10 + rdlen
        }
        return .query(q)
    }

    /// Reads a TSIG record's fields (RFC 8945 §4.2); nil when malformed. `record` is where its
    /// owner starts, `fixed` where its TYPE starts. As NSD: TTL must be 0, the MAC and OTHER DATA
    /// must fit in the message (OTHER DATA at most 16 octets); the fields are read from the
    /// message, not cut at RDLENGTH.
    static func parseTSIG(_ buf: UnsafeRawBufferPointer, record: Int, fixed: Int) -> TSIGInfo? {
        func u16(_ o: Int) -> UInt16 { UInt16(buf[o]) << 8 | UInt16(buf[o + 1]) }
        var p = record
        guard let key = try? readName(buf, at: &p) else { return nil }
        guard u16(fixed + 4) == 0 && u16(fixed + 6) == 0 else { return nil }
        p = fixed + 10
        guard let alg = try? readName(buf, at: &p), p + 10 <= buf.count else { return nil }
        let time = UInt64(u16(p)) << 32 | UInt64(u16(p + 2)) << 16 | UInt64(u16(p + 4))
        let fudge = u16(p + 6)
        let macSize = Int(u16(p + 8))
        p += 10
        guard macSize <= 16384, p + macSize + 6 <= buf.count else { return nil }
        let mac = Array(UnsafeRawBufferPointer(rebasing: buf[p..<(p + macSize)]))
        p += macSize
        let originalID = u16(p), error = u16(p + 2), otherSize = Int(u16(p + 4))
        p += 6
        guard otherSize <= 16, p + otherSize <= buf.count else { return nil }
        let other = Array(UnsafeRawBufferPointer(rebasing: buf[p..<(p + otherSize)]))
        return TSIGInfo(recordOffset: record, keyName: key, algorithm: alg, timeSigned: time, fudge: fudge, mac: mac,
                        originalID: originalID, error: error, otherData: other)
    }

    static func parseECS(_ buf: UnsafeRawBufferPointer, from o: Int, length: Int) -> ClientSubnet? {
        guard length >= 4 else { return nil }
        let family = UInt16(buf[o]) << 8 | UInt16(buf[o + 1])
        let source = buf[o + 2]
        let scope = buf[o + 3]
        let maxBits: Int
        switch family {
        case 1: maxBits = 32
        case 2: maxBits = 128
        default: return nil
        }
        // RFC 7871 §7.1.1: SCOPE must be 0 in queries; ADDRESS is exactly ceil(SOURCE/8) octets.
        guard Int(source) <= maxBits, scope == 0 else { return nil }
        let n = (Int(source) + 7) / 8
        guard length - 4 == n else { return nil }
        var addr = [UInt8](repeating: 0, count: maxBits / 8)
        for i in 0..<n { addr[i] = buf[o + 4 + i] }
        // Bits beyond SOURCE PREFIX-LENGTH must be zero.
        if source % 8 != 0 && n > 0 {
            let mask = UInt8(0xff) >> (source % 8)
            if addr[n - 1] & mask != 0 { return nil }
        }
        return ClientSubnet(family: family, sourcePrefix: source, scopePrefix: 0, address: addr)
    }

    /// Reads a possibly compressed name. Pointers must point strictly backwards
    /// (no loops, no forward references); labels <= 63; total <= 255.
    public static func readName(_ buf: UnsafeRawBufferPointer, at pos: inout Int) throws(WireError) -> DomainName {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var p = pos
        var jumped = false
        var limit = p  // a pointer must go below every position visited so far
        while true {
            guard p < buf.count else { throw WireError.tooShort }
            let l = Int(buf[p])
            if l & 0xC0 == 0xC0 {
                guard p + 1 < buf.count else { throw WireError.tooShort }
                let target = (l & 0x3F) << 8 | Int(buf[p + 1])
                guard target < limit else { throw WireError.badPointer }
                if !jumped { pos = p + 2; jumped = true }
                limit = target
                p = target
                continue
            }
            guard l & 0xC0 == 0 else { throw WireError.badName("extended label type") }
            if l == 0 {
                out.append(0)
                if !jumped { pos = p + 1 }
                break
            }
            guard p + 1 + l <= buf.count else { throw WireError.tooShort }
            guard out.count + 1 + l + 1 <= 255 else { throw WireError.badName("name longer than 255 octets") }
            out.append(UInt8(l))
            for i in (p + 1)...(p + l) { out.append(buf[i]) }
            p += 1 + l
        }
        return DomainName(uncheckedWire: out)
    }

    static func skipRecord(_ buf: UnsafeRawBufferPointer, at pos: inout Int) -> Bool {
        guard (try? readName(buf, at: &pos)) != nil, pos + 10 <= buf.count else { return false }
        let rdlen = Int(UInt16(buf[pos + 8]) << 8 | UInt16(buf[pos + 9]))
        guard pos + 10 + rdlen <= buf.count else { return false }
        pos += 10 + rdlen
        return true
    }
}
