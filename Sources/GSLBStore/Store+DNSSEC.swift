import Foundation
import GSLBCore

// DNSSEC signing keys (docs/dnssec.md): created with swift-crypto, one row per key. Enabling and disabling
// a zone is audited (`dnssec:ZONE`) with each key's tag, role, algorithm and public key; the private key
// never leaves the store but inside a `DNSSECKey` (the snapshot's signer).

extension Store: DNSSECKeyRepository {
    public func enableDNSSEC(zone: String, algorithm: DNSSECAlgorithm, split: Bool, principal: String, source: String,
                             requestID: String?) throws -> [DNSSECKey] {
        guard let stored = DNSSECKey.normalizedZone(zone) else {
            throw StoreError(.invalid, "zone: not a domain name", object: ObjectName.dnssec(zone))
        }
        let time = now()
        let keys = split
            ? [DNSSECKey.generate(zone: stored, role: .ksk, algorithm: algorithm, now: time),
               DNSSECKey.generate(zone: stored, role: .zsk, algorithm: algorithm, now: time)]
            : [DNSSECKey.generate(zone: stored, role: .csk, algorithm: algorithm, now: time)]
        try write("enabling DNSSEC") { db in
            if try !Self.readDNSSECKeys(db, zone: stored).isEmpty {
                throw StoreError(.conflict, "the zone is signed already: disable it first", object: ObjectName.dnssec(stored))
            }
            let zones: Int64 = try db.fetch("SELECT count(DISTINCT zone) FROM dnssec_keys")[0][0]
            if zones >= DNSSECKey.maxZones {
                throw StoreError(.invalid, "at most \(DNSSECKey.maxZones) signed zones", object: ObjectName.dnssec(stored))
            }
            for k in keys {
                try db.execute("""
                    INSERT INTO dnssec_keys (zone, key_tag, role, algorithm, public_key, private_key, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, [k.zone, Int64(k.keyTag), k.role.rawValue, k.algorithm.rawValue,
                          Data(k.publicKey).base64EncodedString(), Data(k.privateKey).base64EncodedString(), k.createdAt])
            }
            try Self.insertAudit(db, [AuditEntry(time: time, principal: principal, source: source, requestID: requestID,
                                                 action: "create", object: ObjectName.dnssec(stored),
                                                 after: AuditJSON.dnssecKeys(keys))], node: node)
        }
        return keys
    }

    public func listDNSSECKeys(zone: String?) throws -> [DNSSECKey] {
        let stored = zone.map { DNSSECKey.normalizedZone($0) ?? $0 }
        return try read("reading DNSSEC keys") { db in try Self.readDNSSECKeys(db, zone: stored) }
    }

    public func disableDNSSEC(zone: String, principal: String, source: String, requestID: String?) throws {
        let stored = DNSSECKey.normalizedZone(zone) ?? zone
        try write("disabling DNSSEC") { db in
            let keys = try Self.readDNSSECKeys(db, zone: stored)
            guard !keys.isEmpty else { throw StoreError(.notFound, "the zone is not signed", object: ObjectName.dnssec(stored)) }
            try db.execute("DELETE FROM dnssec_keys WHERE zone = ?", [stored])
            try Self.insertAudit(db, [AuditEntry(time: now(), principal: principal, source: source, requestID: requestID,
                                                 action: "delete", object: ObjectName.dnssec(stored),
                                                 before: AuditJSON.dnssecKeys(keys))], node: node)
        }
    }

    /// Every key by zone (or `zone`'s), KSKs and CSKs before ZSKs, then by creation. A row the binary cannot
    /// read (an unknown role or algorithm, keys that are not base64) is a corrupt store: `.invalid`.
    static func readDNSSECKeys(_ db: any SQLTransaction, zone: String? = nil) throws -> [DNSSECKey] {
        let rows = try zone.map { try db.fetch("SELECT * FROM dnssec_keys WHERE zone = ? ORDER BY created_at, key_tag", [$0]) }
            ?? db.fetch("SELECT * FROM dnssec_keys ORDER BY zone, created_at, key_tag")
        let keys = try rows.map { row in
            let zone: String = row["zone"]
            guard let role = DNSSECKeyRole(rawValue: row["role"]), let algorithm = DNSSECAlgorithm(rawValue: row["algorithm"]),
                  let publicKey = Data(base64Encoded: row["public_key"] as String),
                  let privateKey = Data(base64Encoded: row["private_key"] as String) else {
                throw StoreError(.invalid, "unreadable DNSSEC key row", object: ObjectName.dnssec(zone))
            }
            return DNSSECKey(zone: zone, role: role, algorithm: algorithm, publicKey: Array(publicKey),
                             privateKey: Array(privateKey), createdAt: row["created_at"])
        }
        // Stable: the zone order of the query, key-signing keys first within a zone.
        return keys.enumerated().sorted { a, b in
            if a.element.zone != b.element.zone { return a.offset < b.offset }
            if a.element.role.signsKeys != b.element.role.signsKeys { return a.element.role.signsKeys }
            return a.offset < b.offset
        }.map(\.element)
    }
}

extension ObjectName {
    public static func dnssec(_ zone: String) -> String { "dnssec:\(zone)" }
}
