/// An RR TYPE (RFC 1035 §3.2.2 and later registries). Unknown values are kept as numbers.
public struct RecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ v: UInt16) { self.rawValue = v }

    public static let a = RecordType(1), ns = RecordType(2), md = RecordType(3), mf = RecordType(4)
    public static let cname = RecordType(5), soa = RecordType(6), mb = RecordType(7), mg = RecordType(8)
    public static let mr = RecordType(9), null = RecordType(10), wks = RecordType(11), ptr = RecordType(12)
    public static let hinfo = RecordType(13), minfo = RecordType(14), mx = RecordType(15), txt = RecordType(16)
    public static let rp = RecordType(17), afsdb = RecordType(18), rt = RecordType(21), sig = RecordType(24)
    public static let key = RecordType(25), px = RecordType(26), aaaa = RecordType(28), loc = RecordType(29)
    public static let nxt = RecordType(30), srv = RecordType(33), naptr = RecordType(35), kx = RecordType(36)
    public static let cert = RecordType(37), a6 = RecordType(38), dname = RecordType(39), opt = RecordType(41)
    public static let apl = RecordType(42), ds = RecordType(43), sshfp = RecordType(44), ipseckey = RecordType(45)
    public static let rrsig = RecordType(46), nsec = RecordType(47), dnskey = RecordType(48), dhcid = RecordType(49)
    public static let nsec3 = RecordType(50), nsec3param = RecordType(51), tlsa = RecordType(52), smimea = RecordType(53)
    public static let hip = RecordType(55), cds = RecordType(59), cdnskey = RecordType(60), openpgpkey = RecordType(61)
    public static let csync = RecordType(62), zonemd = RecordType(63), svcb = RecordType(64), https = RecordType(65)
    public static let spf = RecordType(99), eui48 = RecordType(108), eui64 = RecordType(109)
    public static let tkey = RecordType(249), tsig = RecordType(250), ixfr = RecordType(251), axfr = RecordType(252)
    public static let mailb = RecordType(253), maila = RecordType(254), any = RecordType(255)
    public static let uri = RecordType(256), caa = RecordType(257)

    static let names: [UInt16: String] = [
        1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL",
        11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB",
        21: "RT", 24: "SIG", 25: "KEY", 26: "PX", 28: "AAAA", 29: "LOC", 30: "NXT", 33: "SRV", 35: "NAPTR",
        36: "KX", 37: "CERT", 38: "A6", 39: "DNAME", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP",
        45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM",
        52: "TLSA", 53: "SMIMEA", 55: "HIP", 59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY", 62: "CSYNC",
        63: "ZONEMD", 64: "SVCB", 65: "HTTPS", 99: "SPF", 108: "EUI48", 109: "EUI64", 249: "TKEY",
        250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB", 254: "MAILA", 255: "ANY", 256: "URI", 257: "CAA",
    ]
    static let byName = Dictionary(uniqueKeysWithValues: names.map { ($1, $0) })

    /// Parses a mnemonic (`AAAA`) or `TYPEnnn`.
    public init?(name: String) {
        let u = name.uppercased()
        if let v = RecordType.byName[u] { self.init(v); return }
        if u.hasPrefix("TYPE"), let v = UInt16(u.dropFirst(4)) { self.init(v); return }
        return nil
    }

    public var description: String { RecordType.names[rawValue] ?? "TYPE\(rawValue)" }

    /// Meta and question-only types (RFC 6895 §3.1): never stored in a zone.
    public var isMetaType: Bool { rawValue == 41 || (rawValue >= 128 && rawValue <= 255) }

    /// Where domain names sit inside this type's RDATA, and whether they may be
    /// compressed (RFC 3597 §4: only the RFC 1035 types).
    public var rdataNames: RDataNameLayout {
        switch rawValue {
        case 2, 3, 4, 5, 7, 8, 9, 12: return .init(fixedPrefix: 0, count: 1, compressible: true)
        case 39: return .init(fixedPrefix: 0, count: 1, compressible: false)
        case 6, 14: return .init(fixedPrefix: 0, count: 2, compressible: true)
        case 17: return .init(fixedPrefix: 0, count: 2, compressible: false)
        case 15: return .init(fixedPrefix: 2, count: 1, compressible: true)
        case 18, 21, 36, 64, 65: return .init(fixedPrefix: 2, count: 1, compressible: false)
        case 33: return .init(fixedPrefix: 6, count: 1, compressible: false)
        case 26: return .init(fixedPrefix: 2, count: 2, compressible: false)
        default: return .init(fixedPrefix: 0, count: 0, compressible: false)
        }
    }
}

/// Domain names inside RDATA: `count` names after `fixedPrefix` octets.
public struct RDataNameLayout: Sendable {
    public let fixedPrefix: Int
    public let count: Int
    public let compressible: Bool
}

public enum RecordClass {
    public static let `in`: UInt16 = 1
    public static let ch: UInt16 = 3
    public static let hs: UInt16 = 4
    public static let none: UInt16 = 254
    public static let any: UInt16 = 255
}

public struct ResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let noError = ResponseCode(rawValue: 0)
    public static let formErr = ResponseCode(rawValue: 1)
    public static let servFail = ResponseCode(rawValue: 2)
    public static let nxDomain = ResponseCode(rawValue: 3)
    public static let notImp = ResponseCode(rawValue: 4)
    public static let refused = ResponseCode(rawValue: 5)
    public static let yxDomain = ResponseCode(rawValue: 6)
    public static let notAuth = ResponseCode(rawValue: 9)
    public static let badVers = ResponseCode(rawValue: 16)

    static let names: [UInt16: String] = [0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
                                          6: "YXDOMAIN", 9: "NOTAUTH", 16: "BADVERS"]

    public var description: String { ResponseCode.names[rawValue] ?? "RCODE\(rawValue)" }
}

/// The ERROR field of a TSIG record (RFC 8945 §4.2, §5.2).
public enum TSIGError {
    public static let badSig: UInt16 = 16
    public static let badKey: UInt16 = 17
    public static let badTime: UInt16 = 18
    public static let badTrunc: UInt16 = 22
}

public enum Opcode {
    public static let query: UInt8 = 0
    public static let notify: UInt8 = 4
}
