import Foundation
import GSLBCore

// TSIG keys (RFC 8945): name, algorithm and secret (base64). Creating and deleting one is audited
// (`tsig-key:NAME`) with its name and algorithm only; the secret never leaves the store but inside
// a `TSIGKey` (the snapshot, and the creator's one look at it).

extension Store: TSIGKeyRepository {
    public func createTSIGKey(name: String, algorithm: TSIGAlgorithm, secret: [UInt8]?, principal: String, source: String,
                              requestID: String?) throws -> TSIGKey {
        let stored = try TSIGKey.normalizedName(name)
            .mapError { StoreError(.invalid, "name: \($0.message)", object: ObjectName.tsigKey(name)) }.get()
        let bytes = try TSIGKey.checkedSecret(secret ?? TSIGKey.generateSecret(for: algorithm))
            .mapError { StoreError(.invalid, "secret: \($0.message)", object: ObjectName.tsigKey(stored)) }.get()
        let key = TSIGKey(name: stored, algorithm: algorithm, secret: bytes, createdAt: now())
        try write("creating a TSIG key") { db in
            if try db.fetchOne("SELECT name FROM tsig_keys WHERE name = ?", [stored]) != nil {
                throw StoreError(.conflict, "a TSIG key of that name exists: remove it first", object: ObjectName.tsigKey(stored))
            }
            let count: Int64 = try db.fetch("SELECT count(*) FROM tsig_keys")[0][0]
            if count >= TSIGKey.maxCount {
                throw StoreError(.invalid, "at most \(TSIGKey.maxCount) TSIG keys: remove one first", object: ObjectName.tsigKey(stored))
            }
            try db.execute("INSERT INTO tsig_keys (name, algorithm, secret, created_at) VALUES (?, ?, ?, ?)",
                           [stored, algorithm.rawValue, key.base64Secret, key.createdAt])
            try Self.insertAudit(db, [AuditEntry(time: key.createdAt, principal: principal, source: source, requestID: requestID,
                                                 action: "create", object: ObjectName.tsigKey(stored),
                                                 after: AuditJSON.encode(key))], node: node)
        }
        return key
    }

    public func listTSIGKeys() throws -> [TSIGKey] {
        try read("reading TSIG keys") { db in try Self.readTSIGKeys(db) }
    }

    /// Deletes a key (audited); `.notFound` when there is none of that name.
    public func deleteTSIGKey(name: String, principal: String, source: String, requestID: String?) throws {
        let stored = (try? TSIGKey.normalizedName(name).get()) ?? name
        try write("deleting a TSIG key") { db in
            guard let key = try Self.readTSIGKeys(db, name: stored).first else {
                throw StoreError(.notFound, "no such TSIG key", object: ObjectName.tsigKey(stored))
            }
            try db.execute("DELETE FROM tsig_keys WHERE name = ?", [stored])
            try Self.insertAudit(db, [AuditEntry(time: now(), principal: principal, source: source, requestID: requestID,
                                                 action: "delete", object: ObjectName.tsigKey(stored),
                                                 before: AuditJSON.encode(key))], node: node)
        }
    }

    /// Every key in name order (or the one named `name`). A row the binary cannot read (an algorithm it
    /// does not know, a secret that is not base64) is a corrupt store: `.invalid`, naming the key.
    static func readTSIGKeys(_ db: any SQLTransaction, name: String? = nil) throws -> [TSIGKey] {
        let rows = try name.map { try db.fetch("SELECT * FROM tsig_keys WHERE name = ?", [$0]) }
            ?? db.fetch("SELECT * FROM tsig_keys ORDER BY name")
        return try rows.map { row in
            let name: String = row["name"]
            guard let algorithm = TSIGAlgorithm(rawValue: row["algorithm"]),
                  let secret = Data(base64Encoded: row["secret"] as String) else {
                throw StoreError(.invalid, "unreadable TSIG key row", object: ObjectName.tsigKey(name))
            }
            return TSIGKey(name: name, algorithm: algorithm, secret: Array(secret), createdAt: row["created_at"])
        }
    }
}
