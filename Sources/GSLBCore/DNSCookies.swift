/// DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018): version 1, three reserved
/// octets, a 32-bit timestamp and SipHash-2-4 over client cookie | version | reserved | timestamp |
/// client address, keyed with a 16-octet secret. Nodes that share the secret accept each other's
/// cookies; a second (previous) secret is accepted during a rotation, so clients are never refused
/// for holding an older cookie. Nothing per client is stored.
public struct CookieSecrets: Sendable, Equatable {
    /// Signs every new server cookie.
    public var current: [UInt8]
    /// Still accepted (the secret before a rotation), never used to sign.
    public var previous: [UInt8]?

    public init?(current: [UInt8], previous: [UInt8]? = nil) {
        guard current.count == 16, previous.map({ $0.count == 16 }) ?? true else { return nil }
        self.current = current
        self.previous = previous
    }

    /// A random secret (one node; its cookies die with the process).
    public static func random() -> CookieSecrets {
        var g = SystemRandomNumberGenerator()
        return CookieSecrets(current: (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) })!
    }

    /// A secrets file: the current secret on the first line, optionally the previous one on the
    /// second, each as 32 hexadecimal digits; `#` comments and blank lines are ignored.
    public static func parse(_ text: String) throws(CookieSecretError) -> CookieSecrets {
        var secrets: [[UInt8]] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let hex = String(line.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            if hex.isEmpty { continue }
            guard let bytes = hexBytes(hex), bytes.count == 16 else {
                throw CookieSecretError("secret \(secrets.count + 1): a secret is 32 hexadecimal digits (16 octets)")
            }
            secrets.append(bytes)
        }
        guard let first = secrets.first else { throw CookieSecretError("no secret in the file") }
        guard secrets.count <= 2 else { throw CookieSecretError("at most two secrets: the current one and the previous one") }
        return CookieSecrets(current: first, previous: secrets.count == 2 ? secrets[1] : nil)!
    }
}

public struct CookieSecretError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ d: String) { description = d }
}

/// The server side of RFC 7873/9018: checks the server cookie a client returned and makes the one
/// to send back. Times are Unix seconds modulo 2^32 (RFC 9018 §4.3, serial arithmetic).
public struct ServerCookies: Sendable {
    private let key: SipHash24
    private let previousKey: SipHash24?

    /// A cookie older than this is not accepted (RFC 9018 §4.3: one hour) ...
    public static let lifetime: UInt32 = 3600
    /// ... nor one stamped further ahead than this (clock skew between nodes).
    public static let skew: UInt32 = 300
    /// A valid cookie younger than this made with the current secret is sent back as it is; an
    /// older one is renewed (RFC 9018 §4.3 suggests renewing after half an hour).
    public static let renewAfter: UInt32 = 1800

    public init(secrets: CookieSecrets) {
        key = SipHash24(key: secrets.current)
        previousKey = secrets.previous.map { SipHash24(key: $0) }
    }

    /// The 16-octet server cookie for `client` with this client cookie at `now`.
    public func make(clientCookie: some Collection<UInt8>, client: ClientAddress, now: UInt32,
                     reserved: (UInt8, UInt8, UInt8) = (0, 0, 0)) -> [UInt8] {
        Self.cookie(key, clientCookie: clientCookie, version: 1, reserved: reserved, timestamp: now, client: client)
    }

    /// Whether `server` (what followed the client cookie in the option) is a cookie this server or
    /// a node sharing its secret made for this client and client cookie, and is not too old or too
    /// far ahead. Returns which secret made it (`current` true) or nil.
    public func check(clientCookie: some Collection<UInt8>, server: some Collection<UInt8>, client: ClientAddress,
                      now: UInt32) -> (current: Bool, timestamp: UInt32)? {
        guard server.count == 16 else { return nil }
        let s = Array(server)
        guard s[0] == 1 else { return nil }
        let ts = UInt32(s[4]) << 24 | UInt32(s[5]) << 16 | UInt32(s[6]) << 8 | UInt32(s[7])
        guard Self.usable(ts, at: now) else { return nil }
        let reserved = (s[1], s[2], s[3])
        if Self.cookie(key, clientCookie: clientCookie, version: 1, reserved: reserved, timestamp: ts, client: client) == s {
            return (true, ts)
        }
        if let previousKey,
           Self.cookie(previousKey, clientCookie: clientCookie, version: 1, reserved: reserved, timestamp: ts, client: client) == s {
            return (false, ts)
        }
        return nil
    }

    /// The COOKIE option's value for the response: the client cookie and a server cookie (the
    /// client's own when valid, made with the current secret and younger than `renewAfter`; else a
    /// new one). `valid`: the client returned a good server cookie (it has talked to us before from
    /// this address, so it is not a spoofed source; RRL can exempt it).
    public func respond(to option: some Collection<UInt8>, client: ClientAddress, now: UInt32) -> (value: [UInt8], valid: Bool) {
        let bytes = Array(option)
        let clientCookie = bytes.prefix(8)
        let server = bytes.dropFirst(8)
        let ok = check(clientCookie: clientCookie, server: server, client: client, now: now)
        if let ok, ok.current, now &- ok.timestamp < Self.renewAfter || now &- ok.timestamp > UInt32.max / 2 { return (bytes, true) }
        return (Array(clientCookie) + make(clientCookie: clientCookie, client: client, now: now), ok != nil)
    }

    /// Stamped at most `lifetime` ago and at most `skew` ahead, in serial arithmetic.
    static func usable(_ ts: UInt32, at now: UInt32) -> Bool {
        let behind = now &- ts, ahead = ts &- now
        return behind <= lifetime || ahead <= skew
    }

    static func cookie(_ key: SipHash24, clientCookie: some Collection<UInt8>, version: UInt8,
                       reserved: (UInt8, UInt8, UInt8), timestamp: UInt32, client: ClientAddress) -> [UInt8] {
        var msg: [UInt8] = []
        msg.reserveCapacity(8 + 8 + 16)
        msg.append(contentsOf: clientCookie)
        msg.append(contentsOf: [version, reserved.0, reserved.1, reserved.2,
                                UInt8(timestamp >> 24), UInt8(timestamp >> 16 & 0xff), UInt8(timestamp >> 8 & 0xff), UInt8(timestamp & 0xff)])
        let head = Array(msg[8..<16])
        msg.append(contentsOf: client.bytes)
        let h = key.hash(msg)
        // RFC 9018 §4.4: the hash goes on the wire in SipHash's output byte order (little-endian).
        return head + (0..<8).map { UInt8(truncatingIfNeeded: h >> (8 * UInt64($0))) }
    }
}

/// SipHash-2-4 (Aumasson and Bernstein), 64-bit output, as RFC 9018 uses it. No library in the
/// project's graph has it (swift-crypto has no SipHash; the standard library's Hasher is seeded per
/// process and unspecified), and its 30 lines are checked by RFC 9018's test vectors.
struct SipHash24: Sendable {
    let k0: UInt64, k1: UInt64

    init(key: [UInt8]) {
        precondition(key.count == 16)
        k0 = Self.le64(key, 0)
        k1 = Self.le64(key, 8)
    }

    static func le64(_ b: [UInt8], _ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
        return v
    }

    func hash(_ m: [UInt8]) -> UInt64 {
        var v0: UInt64 = 0x736f6d6570736575 ^ k0
        var v1: UInt64 = 0x646f72616e646f6d ^ k1
        var v2: UInt64 = 0x6c7967656e657261 ^ k0
        var v3: UInt64 = 0x7465646279746573 ^ k1
        @inline(__always) func round() {
            v0 = v0 &+ v1; v1 = (v1 << 13 | v1 >> 51) ^ v0; v0 = v0 << 32 | v0 >> 32
            v2 = v2 &+ v3; v3 = (v3 << 16 | v3 >> 48) ^ v2
            v0 = v0 &+ v3; v3 = (v3 << 21 | v3 >> 43) ^ v0
            v2 = v2 &+ v1; v1 = (v1 << 17 | v1 >> 47) ^ v2; v2 = v2 << 32 | v2 >> 32
        }
        let blocks = m.count / 8
        for i in 0..<blocks {
            let w = Self.le64(m, i * 8)
            v3 ^= w; round(); round(); v0 ^= w
        }
        var last = UInt64(truncatingIfNeeded: m.count) << 56
        for i in 0..<(m.count % 8) { last |= UInt64(m[blocks * 8 + i]) << (8 * UInt64(i)) }
        v3 ^= last; round(); round(); v0 ^= last
        v2 ^= 0xff
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}
