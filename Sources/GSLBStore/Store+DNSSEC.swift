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
                  let privateKey = Data(base64Encoded: row["private_key"] as String),
                  let state = DNSSECKeyState(rawValue: row["state"]) else {
                throw StoreError(.invalid, "unreadable DNSSEC key row", object: ObjectName.dnssec(zone))
            }
            var key = DNSSECKey(zone: zone, role: role, algorithm: algorithm, publicKey: Array(publicKey),
                                privateKey: Array(privateKey), createdAt: row["created_at"])
            key.state = state
            key.stateSince = row["state_since"] ?? key.createdAt
            key.nextAt = row["next_at"]
            if let p: Double = row["propagation"], let t: Double = row["ds_ttl"], let pp: Double = row["parent_propagation"] {
                key.rollover = RolloverDelays(propagation: p, dsTTL: t, parentPropagation: pp)
            }
            return key
        }
        // Stable: the zone order of the query, key-signing keys first within a zone.
        return keys.enumerated().sorted { a, b in
            if a.element.zone != b.element.zone { return a.offset < b.offset }
            if a.element.role.signsKeys != b.element.role.signsKeys { return a.element.role.signsKeys }
            return a.offset < b.offset
        }.map(\.element)
    }
}

// Rollovers (docs/dnssec.md "Key rollover"): every step is a conditional update on the key's state (and the
// state's start), so two nodes taking the same step take it once: the second finds no row in the old state
// and changes nothing. Each step is audited (`dnssec:ZONE`, `rollover`, `ds-seen`).
extension Store: DNSSECRolloverRepository {
    public func startRollover(zone: String, ksk: Bool, delays: RolloverDelays, principal: String, source: String,
                              requestID: String?) throws -> DNSSECKey {
        let stored = DNSSECKey.normalizedZone(zone) ?? zone
        let time = now()
        return try write("starting a DNSSEC rollover") { db in
            let keys = try Self.readDNSSECKeys(db, zone: stored)
            if let why = DNSSECRollover.refusal(keys, rollKSK: ksk) {
                throw StoreError(keys.isEmpty ? .notFound : .conflict, why, object: ObjectName.dnssec(stored))
            }
            let old = keys.filter { ksk ? $0.role.signsKeys : $0.role == .zsk }
            var new = DNSSECKey.generate(zone: stored, role: old[0].role, algorithm: old[0].algorithm, now: time)
            new.state = .published
            new.rollover = delays
            _ = try db.execute("""
                INSERT INTO dnssec_keys (zone, key_tag, role, algorithm, public_key, private_key, created_at, state,
                                         state_since, propagation, ds_ttl, parent_propagation)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'published', ?, ?, ?, ?)
                """, [new.zone, Int64(new.keyTag), new.role.rawValue, new.algorithm.rawValue,
                      Data(new.publicKey).base64EncodedString(), Data(new.privateKey).base64EncodedString(), time, time,
                      delays.propagation, delays.dsTTL, delays.parentPropagation])
            for k in old {
                _ = try db.execute("""
                    UPDATE dnssec_keys SET propagation = ?, ds_ttl = ?, parent_propagation = ? WHERE zone = ? AND public_key = ?
                    """, [delays.propagation, delays.dsTTL, delays.parentPropagation, stored, Data(k.publicKey).base64EncodedString()])
            }
            try Self.insertAudit(db, [AuditEntry(time: time, principal: principal, source: source, requestID: requestID,
                                                 action: "rollover", object: ObjectName.dnssec(stored),
                                                 before: AuditJSON.dnssecKeys(keys), after: AuditJSON.dnssecKeys([new]))], node: node)
            return new
        }
    }

    public func confirmDS(zone: String, principal: String, source: String, requestID: String?) throws -> [DNSSECKey] {
        let stored = DNSSECKey.normalizedZone(zone) ?? zone
        let time = now()
        return try write("confirming a DS at the parent") { db in
            let keys = try Self.readDNSSECKeys(db, zone: stored)
            guard !keys.isEmpty else { throw StoreError(.notFound, "the zone is not signed", object: ObjectName.dnssec(stored)) }
            guard let step = DNSSECRollover.dsSeen(keys) else {
                throw StoreError(.conflict, "no key waits for its DS (cairn dnssec status shows the states)",
                                 object: ObjectName.dnssec(stored))
            }
            guard try Self.apply(db, step, zone: stored, now: time) else {
                throw StoreError(.conflict, "the rollover moved on meanwhile", object: ObjectName.dnssec(stored))
            }
            let after = try Self.readDNSSECKeys(db, zone: stored)
            try Self.insertAudit(db, [AuditEntry(time: time, principal: principal, source: source, requestID: requestID,
                                                 action: "ds-seen", object: ObjectName.dnssec(stored),
                                                 before: AuditJSON.dnssecKeys(keys), after: AuditJSON.dnssecKeys(after))],
                                 node: node)
            return after
        }
    }

    public func advanceRollovers(keys: [DNSSECKey], ttls: (String) -> ZoneTTLs?, now time: Double) throws -> [String] {
        var zones: Set<String> = []
        for k in keys where k.state == .published || k.state == .retired {
            // Nothing to write unless a step is due or its time is not shown yet.
            if let t = ttls(k.zone), let at = DNSSECRollover.due(k, ttls: t), at <= time || at != k.nextAt { zones.insert(k.zone) }
        }
        var done: [String] = []
        for zone in zones.sorted() {
            guard let ttls = ttls(zone) else { continue }
            // Read again inside the transaction: the snapshot's keys may be a step behind the store.
            done += try write("advancing a DNSSEC rollover") { db -> [String] in
                let current = try Self.readDNSSECKeys(db, zone: zone)
                var lines: [String] = []
                for step in DNSSECRollover.steps(current, ttls: ttls, now: time) {
                    if try Self.apply(db, step, zone: zone, now: time) { lines.append(Self.describe(step)) }
                }
                // Each waiting key's next step time, for `status` (never brought forward: `due` keeps a later one).
                for k in try Self.readDNSSECKeys(db, zone: zone) where k.state == .published || k.state == .retired {
                    if let at = DNSSECRollover.due(k, ttls: ttls), at != k.nextAt {
                        _ = try db.execute("UPDATE dnssec_keys SET next_at = ? WHERE zone = ? AND public_key = ? AND state = ?",
                                           [at, zone, Data(k.publicKey).base64EncodedString(), k.state.rawValue])
                    }
                }
                if !lines.isEmpty {
                    try Self.insertAudit(db, [AuditEntry(time: time, principal: "cairn", source: "rollover", requestID: nil,
                                                         action: "rollover", object: ObjectName.dnssec(zone),
                                                         before: AuditJSON.dnssecKeys(current),
                                                         after: AuditJSON.dnssecKeys(try Self.readDNSSECKeys(db, zone: zone)))],
                                         node: node)
                }
                return lines
            }
        }
        return done
    }

    /// Applies `step` if its keys are still where it found them; false (nothing changed) when another node or
    /// command took it first.
    static func apply(_ db: any SQLTransaction, _ step: DNSSECRollover.Step, zone: String, now: Double) throws -> Bool {
        func id(_ k: DNSSECKey) -> String { Data(k.publicKey).base64EncodedString() }
        switch step {
        case .activate(let k, let retire):
            guard try db.execute("""
                UPDATE dnssec_keys SET state = 'active', state_since = ?, next_at = NULL
                WHERE zone = ? AND public_key = ? AND state = ?
                """, [now, zone, id(k), k.state.rawValue]) == 1 else { return false }
            for old in retire {
                _ = try db.execute("""
                    UPDATE dnssec_keys SET state = 'retired', state_since = ?, next_at = NULL
                    WHERE zone = ? AND public_key = ? AND state = 'active'
                    """, [now, zone, id(old)])
            }
            return true
        case .awaitDS(let k):
            return try db.execute("""
                UPDATE dnssec_keys SET state = 'ds-pending', state_since = ?, next_at = NULL
                WHERE zone = ? AND public_key = ? AND state = 'published'
                """, [now, zone, id(k)]) == 1
        case .remove(let k):
            return try db.execute("DELETE FROM dnssec_keys WHERE zone = ? AND public_key = ? AND state = 'retired'",
                                  [zone, id(k)]) == 1
        }
    }

    static func describe(_ step: DNSSECRollover.Step) -> String {
        switch step {
        case .activate(let k, let retire):
            "\(k.zone) \(k.role.rawValue) \(k.keyTag) active" + retire.map { ", \($0.role.rawValue) \($0.keyTag) retired" }.joined()
        case .awaitDS(let k):
            "\(k.zone) \(k.role.rawValue) \(k.keyTag) ds-pending: give the parent its DS (cairn dnssec ds), then cairn dnssec ds-seen \(k.zone)"
        case .remove(let k): "\(k.zone) \(k.role.rawValue) \(k.keyTag) removed"
        }
    }
}
