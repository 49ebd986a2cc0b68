/// One resource record with its RDATA in uncompressed wire form (names in RDATA
/// keep their case).
public struct ResourceRecord: Hashable, Sendable, CustomStringConvertible {
    public var name: DomainName
    public var type: RecordType
    public var rclass: UInt16
    public var ttl: UInt32
    public var rdata: [UInt8]

    public init(name: DomainName, type: RecordType, rclass: UInt16 = RecordClass.in, ttl: UInt32, rdata: [UInt8]) {
        self.name = name
        self.type = type
        self.rclass = rclass
        self.ttl = ttl
        self.rdata = rdata
    }

    /// The domain names inside RDATA (targets of NS, CNAME, MX, SRV, ...).
    public var rdataNames: [DomainName] {
        let layout = type.rdataNames
        guard layout.count > 0 else { return [] }
        var out: [DomainName] = []
        var off = layout.fixedPrefix
        for _ in 0..<layout.count {
            guard let (n, next) = ResourceRecord.readUncompressedName(rdata, at: off) else { break }
            out.append(n)
            off = next
        }
        return out
    }

    /// The single target name for NS, CNAME, DNAME, PTR, MX, SRV, HTTPS/SVCB.
    public var target: DomainName? { rdataNames.first }

    /// The uncompressed name at `start` and the offset after it; nil when it runs past the end, has a label
    /// longer than 63 octets or is longer than 255.
    public static func readUncompressedName(_ b: [UInt8], at start: Int) -> (DomainName, Int)? {
        var i = start
        while true {
            guard i < b.count else { return nil }
            let l = Int(b[i])
            if l == 0 { i += 1; break }
            guard l <= 63 else { return nil }
            i += 1 + l
        }
        guard i - start <= 255 else { return nil }
        return (DomainName(uncheckedWire: Array(b[start..<i])), i)
    }

    /// RDATA in canonical form: the names of the types RFC 4034 §6.2 (as RFC 6840 §5.1 left it) lists
    /// lower-cased. What RRSIGs sign, and what the zone checker compares records by.
    public static func canonicalRdata(_ type: RecordType, _ rdata: [UInt8]) -> [UInt8] {
        let layout = type.rdataNames
        guard layout.count > 0, type != .svcb, type != .https else { return rdata }
        var out = rdata
        var off = layout.fixedPrefix
        for _ in 0..<layout.count {
            while off < out.count, out[off] != 0 {
                let l = Int(out[off])
                guard off + 1 + l <= out.count else { return rdata }
                for i in (off + 1)..<(off + 1 + l) where out[i] >= 65 && out[i] <= 90 { out[i] |= 0x20 }
                off += 1 + l
            }
            off += 1
        }
        return out
    }

    /// SOA fields, when this is an SOA record.
    public var soa: (mname: DomainName, rname: DomainName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32)? {
        guard type == .soa else { return nil }
        let names = rdataNames
        guard names.count == 2 else { return nil }
        let off = names[0].wire.count + names[1].wire.count
        guard rdata.count == off + 20 else { return nil }
        func u32(_ o: Int) -> UInt32 {
            UInt32(rdata[o]) << 24 | UInt32(rdata[o + 1]) << 16 | UInt32(rdata[o + 2]) << 8 | UInt32(rdata[o + 3])
        }
        return (names[0], names[1], u32(off), u32(off + 4), u32(off + 8), u32(off + 12), u32(off + 16))
    }

    public var description: String {
        "\(name) \(ttl) \(rclass == 1 ? "IN" : "CLASS\(rclass)") \(type) \(RDataText.format(type: type, rdata: rdata))"
    }
}

/// Presentation format of RDATA for the common types; RFC 3597 `\#` otherwise.
public enum RDataText {
    public static func format(type: RecordType, rdata: [UInt8]) -> String {
        func generic() -> String {
            "\\# \(rdata.count)" + (rdata.isEmpty ? "" : " " + rdata.map { hex2($0) }.joined())
        }
        switch type {
        case .a where rdata.count == 4:
            return rdata.map(String.init).joined(separator: ".")
        case .aaaa where rdata.count == 16:
            return IPAddressText.ipv6(rdata)
        case .ns, .cname, .ptr, .dname, .mb, .mg, .mr, .md, .mf:
            guard let (n, end) = ResourceRecord.readUncompressedName(rdata, at: 0), end == rdata.count else { return generic() }
            return n.description
        case .mx, .afsdb, .rt, .kx:
            guard rdata.count >= 3, let (n, end) = ResourceRecord.readUncompressedName(rdata, at: 2), end == rdata.count else { return generic() }
            return "\(UInt16(rdata[0]) << 8 | UInt16(rdata[1])) \(n)"
        case .srv:
            guard rdata.count >= 7, let (n, end) = ResourceRecord.readUncompressedName(rdata, at: 6), end == rdata.count else { return generic() }
            func u16(_ o: Int) -> UInt16 { UInt16(rdata[o]) << 8 | UInt16(rdata[o + 1]) }
            return "\(u16(0)) \(u16(2)) \(u16(4)) \(n)"
        case .soa:
            let rr = ResourceRecord(name: .root, type: .soa, ttl: 0, rdata: rdata)
            guard let s = rr.soa else { return generic() }
            return "\(s.mname) \(s.rname) \(s.serial) \(s.refresh) \(s.retry) \(s.expire) \(s.minimum)"
        case .txt, .spf, .hinfo:
            var parts: [String] = []
            var i = 0
            while i < rdata.count {
                let l = Int(rdata[i])
                guard i + 1 + l <= rdata.count else { return generic() }
                parts.append(quoted(rdata[(i + 1)..<(i + 1 + l)]))
                i += 1 + l
            }
            return parts.joined(separator: " ")
        default:
            return generic()
        }
    }

    static func hex2(_ b: UInt8) -> String {
        let d = Array("0123456789abcdef")
        return String([d[Int(b >> 4)], d[Int(b & 15)]])
    }

    static func quoted(_ s: ArraySlice<UInt8>) -> String {
        var out = "\""
        for b in s {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += "\\" + String(Unicode.Scalar(b))
            case 0x20...0x7e: out += String(Unicode.Scalar(b))
            default: out += "\\" + threeDigits(Int(b))
            }
        }
        return out + "\""
    }
}

public enum IPAddressText {
    public static func ipv6(_ b: [UInt8]) -> String {
        var groups: [UInt16] = []
        for i in stride(from: 0, to: 16, by: 2) { groups.append(UInt16(b[i]) << 8 | UInt16(b[i + 1])) }
        // Longest run of zero groups (length >= 2) becomes "::".
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else { i += 1 }
        }
        func h(_ g: UInt16) -> String { String(g, radix: 16) }
        if bestStart < 0 { return groups.map(h).joined(separator: ":") }
        let left = groups[0..<bestStart].map(h).joined(separator: ":")
        let right = groups[(bestStart + bestLen)...].map(h).joined(separator: ":")
        return left + "::" + right
    }

    /// Parses dotted-quad IPv4.
    public static func parseIPv4(_ s: String) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(p), v <= 255 else { return nil }
            if p.count > 1 && p.first == "0" { return nil }
            out.append(UInt8(v))
        }
        return out
    }

    /// Parses IPv6 text (with `::` and an optional trailing dotted quad).
    public static func parseIPv6(_ s: String) -> [UInt8]? {
        guard !s.isEmpty, s.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        let halves = s.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            if part.isEmpty { return [] }
            var out: [UInt8] = []
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            for (idx, it) in items.enumerated() {
                if it.contains(".") {
                    guard idx == items.count - 1, let v4 = parseIPv4(String(it)) else { return nil }
                    out += v4
                } else {
                    guard !it.isEmpty, it.count <= 4, let v = UInt16(it, radix: 16) else { return nil }
                    out += [UInt8(v >> 8), UInt8(v & 0xff)]
                }
            }
            return out
        }
        if halves.count == 1 {
            guard let g = groups(halves[0]), g.count == 16 else { return nil }
            return g
        }
        guard let l = groups(halves[0]), let r = groups(halves[1]), l.count + r.count <= 14 else { return nil }
        return l + [UInt8](repeating: 0, count: 16 - l.count - r.count) + r
    }
}
