import DNSWire

/// What a server says about itself, off unless configured (per node: operators of several nodes need to know
/// which one answered): the NSID option (RFC 5001) in every response to a query that asks for it, and the CH TXT
/// names `id.server.`/`hostname.bind.` (identity) and `version.server.`/`version.bind.` (version). As NSD does:
/// those answers are NOERROR without AA, TTL 0, for TXT or ANY; any other CH query is REFUSED.
public struct ServerIdentity: Hashable, Sendable {
    public var nsid: [UInt8]?
    public var identity: String?
    public var version: String?

    public init(nsid: [UInt8]? = nil, identity: String? = nil, version: String? = nil) {
        self.nsid = nsid; self.identity = identity; self.version = version
    }

    public static let none = ServerIdentity()

    /// `--nsid` as NSD reads its `nsid:` setting: `ascii_TEXT`, or an even number of hex digits; anything else is
    /// taken as text. At most 128 octets (it travels in every response that asks for it).
    public static func parseNSID(_ text: String) -> [UInt8]? {
        let bytes: [UInt8]
        if text.hasPrefix("ascii_") {
            bytes = Array(text.utf8.dropFirst(6))
        } else if !text.isEmpty, text.utf8.count % 2 == 0, text.utf8.allSatisfy({ $0.isHexDigit }) {
            var out: [UInt8] = []
            var it = text.utf8.makeIterator()
            while let hi = it.next(), let lo = it.next() { out.append(UInt8(hi.hexValue << 4 | lo.hexValue)) }
            bytes = out
        } else {
            bytes = Array(text.utf8)
        }
        return bytes.isEmpty || bytes.count > 128 ? nil : bytes
    }

    /// The text of a CH TXT name (lower-cased wire form compared), or nil when it is not one or not configured.
    func chaosText(_ name: DomainName) -> String? {
        switch name.description.lowercased() {
        case "id.server.", "hostname.bind.": return identity
        case "version.server.", "version.bind.": return version
        default: return nil
        }
    }
}

private extension UInt8 {
    var isHexDigit: Bool { (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self) }
    var hexValue: UInt8 { self <= 0x39 ? self - 0x30 : (self | 0x20) - 0x61 + 10 }
}
