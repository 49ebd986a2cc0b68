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
        let bytes = text.hasPrefix("ascii_") ? Array(text.utf8.dropFirst(6)) : hexBytes(text) ?? Array(text.utf8)
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

/// The value of one hex digit (either case), or nil: `hexBytes`, JSON's `\u` escapes and zone files' DS digests read it.
@inlinable public func hexDigit(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: c - 0x30
    case 0x41...0x46, 0x61...0x66: (c | 0x20) - 0x61 + 10
    default: nil
    }
}

/// The octets an even, non-zero number of hex digits spell (either case), or nil: `--nsid` and
/// the cookie secrets file read hex through this.
func hexBytes(_ text: some StringProtocol) -> [UInt8]? {
    let digits = Array(text.utf8)
    guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    for i in stride(from: 0, to: digits.count, by: 2) {
        guard let hi = hexDigit(digits[i]), let lo = hexDigit(digits[i + 1]) else { return nil }
        out.append(hi << 4 | lo)
    }
    return out
}
