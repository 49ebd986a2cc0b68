/// Bearer tokens of the admin API. The secret is shown once; the store keeps only its
/// SHA-256, and a presented token is found by that hash and compared in constant time.
public enum TokenScope: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    case read, write, admin

    private var rank: Int { self == .read ? 0 : self == .write ? 1 : 2 }
    public static func < (a: TokenScope, b: TokenScope) -> Bool { a.rank < b.rank }
    /// True when a token of this scope may do what `needed` requires.
    public func allows(_ needed: TokenScope) -> Bool { self >= needed }
}

/// A stored token, without its secret.
public struct APIToken: Hashable, Sendable {
    public var id: Int64
    public var name: String
    /// SHA-256 of the secret, lowercase hex.
    public var hash: String
    public var scope: TokenScope
    /// Seconds since the Unix epoch; nil = never.
    public var expiresAt: Double?
    public var createdAt: Double
    public var lastUsedAt: Double?
    public init(id: Int64, name: String, hash: String, scope: TokenScope, expiresAt: Double?, createdAt: Double,
                lastUsedAt: Double? = nil) {
        self.id = id; self.name = name; self.hash = hash; self.scope = scope; self.expiresAt = expiresAt
        self.createdAt = createdAt; self.lastUsedAt = lastUsedAt
    }

    public func isExpired(at now: Double) -> Bool { expiresAt.map { $0 <= now } ?? false }

    /// Compares two strings in time that depends only on their lengths (the comparison TSIG MACs go through).
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        TSIGDigest.equal(Array(a.utf8), Array(b.utf8)[...])
    }
}
