import GSLBCore

// The audit log: one row per change, written in the transaction of the change.

extension Store {
    /// Appends entries that are not the side effect of a store write (failed
    /// authentications, drill steps, ...), in one transaction; returns them with their ids.
    @discardableResult
    public func audit(_ entries: [AuditEntry]) throws -> [AuditEntry] {
        guard !entries.isEmpty else { return [] }
        return try write("writing the audit log") { db in try Self.insertAudit(db, entries, node: node) }
    }

    /// Audit rows in the order they were written (oldest first), paged by `limit`/`offset`.
    /// `object` matches exactly, or as a prefix up to a `/` (`pool:www.example.com.` finds
    /// `pool:www.example.com./A` and `/AAAA`); `since` keeps rows with `time >= since`, `until` those
    /// with `time <= until` (in SQL, so that paging counts only the rows asked for).
    public func listAudit(object: String? = nil, since: Double? = nil, until: Double? = nil, limit: Int = 100,
                          offset: Int = 0) throws -> [AuditEntry] {
        var conditions: [String] = []
        var arguments: [any SQLBindable] = []
        if let object {
            var matches = "object = ? OR substr(object, 1, length(?) + 1) = ? || '/'"
            arguments += [object, object, object]
            // Overrides are audited as `override:ID`; the site, pool or member they force is found too.
            if let (scope, target) = Self.overrideTarget(of: object) {
                let pattern = Self.overridePattern(scope: scope, target: target)
                matches += #" OR (object LIKE 'override:%' AND (after_json LIKE ? ESCAPE '\' OR before_json LIKE ? ESCAPE '\'))"#
                arguments += [pattern, pattern]
            }
            conditions.append("(\(matches))")
        }
        for (op, time) in [(">=", since), ("<=", until)] {
            guard let time else { continue }
            conditions.append("time \(op) ?")
            arguments += [time]
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [max(0, limit), max(0, offset)]
        return try read("reading the audit log") { db in
            try db.fetch("SELECT * FROM audit_log \(filter) ORDER BY id LIMIT ? OFFSET ?", arguments).map { row in
                AuditEntry(id: row["id"], time: row["time"], principal: row["principal"], source: row["source"],
                           requestID: row["request_id"], action: row["action"], object: row["object"],
                           before: row["before_json"], after: row["after_json"], node: row["node"])
            }
        }
    }

    /// The override scope and target that force the audited object `object`: `site:fra` → (site, `fra`),
    /// `pool:NAME` or `pool:NAME/TYPE` → (pool, `NAME`), `member:POOL/TYPE/ADDRESS` → (member, `POOL/ADDRESS`).
    static func overrideTarget(of object: String) -> (OverrideScope, String)? {
        guard let colon = object.firstIndex(of: ":") else { return nil }
        let kind = object[..<colon], rest = object[object.index(after: colon)...]
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        switch kind {
        case "site" where parts.count == 1 && !rest.isEmpty: return (.site, String(rest))
        case "pool" where (parts.count == 1 || parts.count == 2) && !parts[0].isEmpty: return (.pool, String(parts[0]))
        case "member" where parts.count == 3 && !parts[0].isEmpty && !parts[2].isEmpty: return (.member, "\(parts[0])/\(parts[2])")
        default: return nil
        }
    }

    /// A LIKE pattern for an override's audit JSON (keys sorted: …, `scope`, `state`, `target` last) with this
    /// scope and target; `%`, `_` and `\` in the target are escaped.
    static func overridePattern(scope: OverrideScope, target: String) -> String {
        let encoded = AuditJSON.encode([target]).dropFirst().dropLast()  // the JSON string, quotes included
        let escaped = #""target":\#(encoded)}"#.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
        return #"%"scope":"\#(scope.rawValue)","state":"%"# + escaped
    }

    @discardableResult
    /// Writes `entries` (stamped with `node` when they name none) and returns them with their ids.
    static func insertAudit(_ db: any SQLTransaction, _ entries: [AuditEntry], node: String?) throws -> [AuditEntry] {
        var stored: [AuditEntry] = []
        for var entry in entries {
            if entry.node == nil { entry.node = node }
            entry.id = try db.insertReturningID("""
                INSERT INTO audit_log (time, principal, source, request_id, action, object, before_json, after_json, node)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [entry.time, entry.principal, entry.source, entry.requestID, entry.action, entry.object,
                      entry.before, entry.after, entry.node])
            stored.append(entry)
        }
        return stored
    }
}
