import Foundation


/// The body of `POST /v1/drills`, read by the codec of config objects: a problem names its key, an
/// unknown key gets "did you mean", `null` is absent. Whether `at` is still ahead, the mode and the
/// target are the handler's and the runner's checks.
public struct DrillRequest: Decodable {
    public var target = DrillTarget(scope: .site, name: "")
    public var mode = "override"
    /// Seconds.
    public var hold: Double = 0
    public var force = false
    /// Unix seconds.
    public var at: Double?
    /// Why the drill runs (at most `maxReason` characters) and the change or ticket it belongs to (at most `maxTicket`).
    public var reason: String?
    public var ticket: String?
    /// Caching resolvers to measure through as well: `ADDRESS` or `ADDRESS:PORT` (`[V6]:PORT`), at most `maxResolvers`.
    public var resolvers: [String] = []

    public static let maxReason = 1000
    public static let maxTicket = 100
    public static let maxResolvers = 4

    public enum CodingKeys: String, ConfigCodingKeys {
        case site, member, pool, mode, hold, force, at, reason, ticket, resolvers
        public static let what = "a drill"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var given: [DrillTarget] = []
        for (key, scope) in [(CodingKeys.site, OverrideScope.site), (.member, .member), (.pool, .pool)] {
            if let name = try c.decodeIfPresent(String.self, forKey: key), !name.isEmpty { given.append(DrillTarget(scope: scope, name: name)) }
        }
        if given.count == 1 { target = given[0] } else {
            try decoder.problem(at: c.path(.site), "name exactly one of site, member (POOL/ADDRESS) or pool")
        }
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? mode
        let required = "required: a duration such as 30s or 10m"
        if let h = try c.text(.hold, decoder, TimeSpan.positiveSeconds, { _ in required }) { hold = h } else if c.isAbsent(.hold) {
            try decoder.problem(at: c.path(.hold), required)
        }
        force = try c.decodeIfPresent(Bool.self, forKey: .force) ?? false
        at = try c.time(.at, decoder)
        for (key, limit) in [(CodingKeys.reason, Self.maxReason), (.ticket, Self.maxTicket)] {
            guard let v = try c.decodeIfPresent(String.self, forKey: key) else { continue }
            let t = v.trimmingCharacters(in: .whitespacesAndNewlines)
            if t.isEmpty || t.count > limit || t.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                try decoder.problem(at: c.path(key), "expected 1 to \(limit) characters of text on one line")
            } else if key == .reason { reason = t } else { ticket = t }
        }
        if let list = try c.decodeIfPresent([String].self, forKey: .resolvers) {
            if list.count > Self.maxResolvers {
                try decoder.problem(at: c.path(.resolvers), "at most \(Self.maxResolvers) resolvers")
            } else {
                for (i, r) in list.enumerated() where Self.resolverAddress(r) == nil {
                    try decoder.problem(at: c.path(.resolvers) + "[\(i)]", "expected an IP address with an optional port: 127.0.0.1, 127.0.0.1:5353, [::1]:53")
                }
                resolvers = list
            }
        }
    }

    /// `127.0.0.1`, `127.0.0.1:5353`, `::1`, `[::1]:5353` → (host, port); nil when not an IP address and port.
    public static func resolverAddress(_ text: String) -> (host: String, port: Int)? {
        var host = text, port = 53
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else { return nil }
                port = p
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let p = Int(text[text.index(after: colon)...]) else { return nil }
            port = p
        }
        guard (1...65535).contains(port), ClientAddress(text: host) != nil else { return nil }
        return (host, port)
    }
}
