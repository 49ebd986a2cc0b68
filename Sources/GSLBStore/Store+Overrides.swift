import GSLBCore

// Forced states (maintenance, drills). Each change is audited in its own transaction, as
// `override:ID` with action `create`, `delete` or `expire`.

extension Store {
    /// Stores `override` (its `id` is ignored) and audits it; returns it with its new id.
    /// `audit` carries the caller's time, principal, source and request id; the store sets
    /// action, object, before and after.
    @discardableResult
    public func addOverride(_ override: Override, audit: AuditEntry) throws -> Override {
        if !override.createdAt.isFinite || !(override.expiresAt?.isFinite ?? true) {
            throw StoreError(.invalid, "created_at and expires_at must be finite numbers")
        }
        return try write("adding an override") { db in
            let id = try db.insertReturningID("""
                INSERT INTO overrides (scope, target, state, reason, principal, expires_at, created_at, drill_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [override.scope.rawValue, override.target, override.state.rawValue, override.reason,
                      override.principal, override.expiresAt, override.createdAt, override.drillID])
            var stored = override
            stored.id = id
            var entry = audit
            entry.action = "create"; entry.object = ObjectName.override(id)
            entry.before = nil; entry.after = AuditJSON.encode(stored)
            try Self.insertAudit(db, [entry], node: node)
            return stored
        }
    }

    /// Deletes the override `id` and audits it; returns what was deleted. Throws `.notFound`
    /// when there is no such override (already lifted or expired).
    @discardableResult
    public func removeOverride(id: Int64, audit: AuditEntry) throws -> Override {
        try write("removing an override") { db in
            guard let existing = try Self.readOverrides(db, sql: "SELECT * FROM overrides WHERE id = ?", [id]).first else {
                throw StoreError(.notFound, "no such override", object: ObjectName.override(id))
            }
            try db.execute("DELETE FROM overrides WHERE id = ?", [id])
            var entry = audit
            entry.action = "delete"; entry.object = ObjectName.override(id)
            entry.before = AuditJSON.encode(existing); entry.after = nil
            try Self.insertAudit(db, [entry], node: node)
            return existing
        }
    }

    /// Overrides in force at `now` (no expiry, or expiring after `now`), oldest first.
    public func activeOverrides(now: Double) throws -> [Override] {
        try read("reading overrides") { db in
            try Self.readOverrides(db, sql: "SELECT * FROM overrides WHERE expires_at IS NULL OR expires_at > ? ORDER BY id", [now])
        }
    }

    /// Deletes every override whose `expires_at` is at or before `now`, with one audit row
    /// (`expire`, source `cairn`) per lifted override in the same transaction; returns them.
    @discardableResult
    public func expireOverrides(now: Double, principal: String) throws -> [Override] {
        try write("expiring overrides") { db in
            let expired = try Self.readOverrides(db, sql: "SELECT * FROM overrides WHERE expires_at <= ? ORDER BY id", [now])
            guard !expired.isEmpty else { return [] }
            try db.execute("DELETE FROM overrides WHERE expires_at <= ?", [now])
            try Self.insertAudit(db, expired.map { o in
                AuditEntry(time: now, principal: principal, source: "cairn", action: "expire",
                           object: ObjectName.override(o.id ?? 0), before: AuditJSON.encode(o))
            }, node: node)
            return expired
        }
    }

    static func readOverrides(_ db: any SQLTransaction, sql: String, _ arguments: [any SQLBindable] = []) throws -> [Override] {
        try db.fetch(sql, arguments).map { row in
            Override(id: row["id"], scope: try decodeEnum(row["scope"], "overrides.scope"), target: row["target"],
                     state: try decodeEnum(row["state"], "overrides.state"), reason: row["reason"], principal: row["principal"],
                     expiresAt: row["expires_at"], createdAt: row["created_at"], drillID: row["drill_id"])
        }
    }
}
