import GSLBCore

// API tokens: only the SHA-256 of each secret is stored. Creating and deleting one is audited
// (`token:ID`), without the secret or its hash.

extension Store {
    /// Creates a token and returns it with its secret (shown once, never stored).
    public func createToken(name: String, scope: TokenScope, expiresAt: Double?, principal: String,
                            source: String) throws -> (token: APIToken, secret: String) {
        if let e = expiresAt, !e.isFinite { throw StoreError(.invalid, "expires_at must be a finite number") }
        guard !name.isEmpty, name.count <= 100 else { throw StoreError(.invalid, "a token name is 1 to 100 characters") }
        let secret = TokenSecret.generate()
        let hash = TokenSecret.hash(secret)
        let created = now()
        let token: APIToken = try write("creating a token") { db in
            let id = try db.insertReturningID("INSERT INTO tokens (name, hash, scope, expires_at, created_at) VALUES (?, ?, ?, ?, ?)",
                                              [name, hash, scope.rawValue, expiresAt, created])
            let t = APIToken(id: id, name: name, hash: hash, scope: scope, expiresAt: expiresAt,
                             createdAt: created)
            _ = try Self.insertAudit(db, [AuditEntry(time: created, principal: principal, source: source, action: "create",
                                                    object: "token:\(t.id)", after: AuditJSON.encode(t))], node: node)
            return t
        }
        return (token, secret)
    }

    /// The token whose secret this is (compared by its SHA-256), or nil.
    public func token(secret: String) throws -> APIToken? { try token(hash: TokenSecret.hash(secret)) }

    /// The token whose hash is `hash`, compared in constant time, or nil.
    public func token(hash: String) throws -> APIToken? {
        try listTokens().filter { APIToken.constantTimeEquals($0.hash, hash) }.last
    }

    public func listTokens() throws -> [APIToken] {
        try read("reading tokens") { db in try Self.readTokens(db, "SELECT * FROM tokens ORDER BY id") }
    }

    static func readTokens(_ db: any SQLTransaction, _ sql: String, _ arguments: [any SQLBindable] = []) throws -> [APIToken] {
        try db.fetch(sql, arguments).map { row in
            APIToken(id: row["id"], name: row["name"], hash: row["hash"],
                     scope: try decodeEnum(row["scope"], "tokens.scope"), expiresAt: row["expires_at"],
                     createdAt: row["created_at"], lastUsedAt: row["last_used_at"])
        }
    }

    /// Deletes a token (audited); `.notFound` when there is none with that id.
    public func deleteToken(id: Int64, principal: String, source: String, requestID: String?) throws {
        try write("deleting a token") { db in
            guard let t = try Self.readTokens(db, "SELECT * FROM tokens WHERE id = ?", [id]).first else {
                throw StoreError(.notFound, "no such token", object: "token:\(id)")
            }
            try db.execute("DELETE FROM tokens WHERE id = ?", [id])
            _ = try Self.insertAudit(db, [AuditEntry(time: now(), principal: principal, source: source, requestID: requestID,
                                                    action: "delete", object: "token:\(id)", before: AuditJSON.encode(t))], node: node)
        }
    }

    /// Records when a token was last used (not audited).
    public func touchToken(id: Int64, at time: Double) throws {
        try write("touching a token") { db in
            try db.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", [time, id])
        }
    }
}
