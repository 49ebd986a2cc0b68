import Foundation
import GSLBCore

// Reading and writing the declarative config: sites, monitors, pools with their members,
// topology. Writes compare with what is stored and touch only what changed.

extension Store {
    /// Config, last known health and every override (expired ones included: the caller
    /// filters them with `Override.isActive(at:)`), read from one committed snapshot.
    /// Sites and monitors come in name order, pools in name/type order with their members in
    /// stored order, topology in stored order. Health rows have `stale == false`: whether a
    /// state is confirmed by this run's probes is the server's knowledge, not the file's.
    public func loadState() throws -> GSLBState {
        try read("loading the state") { db in
            GSLBState(config: try cachedConfig(db).stored.config,
                      health: try Self.readHealth(db),
                      overrides: try Self.readOverrides(db, sql: "SELECT * FROM overrides ORDER BY id"),
                      observations: try Self.readObservations(db),
                      tsigKeys: try Self.readTSIGKeys(db),
                      dnssecKeys: try Self.readDNSSECKeys(db))
        }
    }

    /// The stored config (what `cairn export` prints).
    public func exportConfig() throws -> GSLBConfig {
        try read("exporting the config") { db in try cachedConfig(db).stored.config }
    }

    /// `ConfigRepository`: see the overload with `requestID` and `expectedVersions`.
    @discardableResult
    public func replaceConfig(_ config: GSLBConfig, principal: String, source: String, prune: Bool) throws -> [AuditEntry] {
        try replaceConfig(config, principal: principal, source: source, requestID: nil, prune: prune)
    }

    /// Makes the stored config equal to `config` in one transaction: objects absent from
    /// the store are created, different ones updated (their version + 1), equal ones left
    /// alone; with `prune`, stored objects absent from `config` are deleted. One audit row
    /// per changed object (`create`, `update`, `delete`) is written in the same transaction
    /// and returned with its id. A config equal to the stored one writes nothing and returns `[]`.
    ///
    /// `expectedVersions` (keys as in `objectVersions()`, 0 = must not exist) makes the
    /// write conditional: any mismatch throws `.conflict` and writes nothing.
    /// Duplicate keys or non-finite numbers throw `.invalid`; a reference to an unknown
    /// site or monitor throws `.constraint` (foreign keys); nothing is written in either case.
    @discardableResult
    public func replaceConfig(_ config: GSLBConfig, principal: String, source: String, requestID: String?,
                              prune: Bool, expectedVersions: [String: Int64] = [:]) throws -> [AuditEntry] {
        let template = AuditEntry(time: now(), principal: principal, source: source, requestID: requestID,
                                  action: "", object: "", node: node)
        var next: ConfigCache?
        let audit = try write("applying the config") { db in
            try checkVersions(db, expectedVersions)
            let done = try Self.applyConfig(db, config, prune: prune, template: template, over: try cachedConfig(db))
            next = done.next
            return done.audit
        }
        if let next { remember(next) }
        return audit
    }

    /// What `replaceConfig(config, prune:)` would change, without changing anything: the same write runs
    /// in a transaction (same comparison, same checks, same audit rows) that is rolled back. Returns the
    /// audit rows it would write (no ids); `[]` when the config equals the stored one.
    public func previewConfig(_ config: GSLBConfig, prune: Bool) throws -> [AuditEntry] {
        struct RolledBack: Error {}
        let template = AuditEntry(time: now(), principal: "-", source: "preview", action: "", object: "", node: node)
        var would: [AuditEntry]?
        do {
            _ = try write("previewing the config", announce: false) { db -> Int in
                would = try Self.applyConfig(db, config, prune: prune, template: template, over: try cachedConfig(db)).audit
                throw RolledBack()
            }
        } catch {
            guard let would else { throw error }
            return would.map { var e = $0; e.id = nil; return e }
        }
        return []
    }

    /// Reads the stored config, lets `body` change it, and stores the result as
    /// `replaceConfig(prune: true)` would, all in one write transaction: the way to create,
    /// change or delete single objects without racing another writer. An error thrown by
    /// `body` (e.g. a validation error) aborts the transaction and is rethrown as is.
    @discardableResult
    public func modifyConfig(principal: String, source: String, requestID: String? = nil,
                             expectedVersions: [String: Int64] = [:],
                             _ body: (inout GSLBConfig) throws -> Void) throws -> ConfigWrite {
        let template = AuditEntry(time: now(), principal: principal, source: source, requestID: requestID,
                                  action: "", object: "", node: node)
        var next: ConfigCache?
        let done = try write("modifying the config") { db -> ConfigWrite in
            try checkVersions(db, expectedVersions)
            let cache = try cachedConfig(db)
            var config = cache.stored.config
            try body(&config)
            let done = try Self.applyConfig(db, config, prune: true, template: template, over: cache)
            next = done.next
            // The config and versions this write made (not a later writer's), known without reading them back.
            let after = try done.next ?? ConfigCache(generation: -1, stored: try Self.readConfig(db), versions: try Self.readConfigVersions(db))
            return ConfigWrite(audit: done.audit, config: after.stored.config,
                               versions: after.versions.merging(try Self.readOtherVersions(db)) { a, _ in a })
        }
        if let next { remember(next) }
        return done
    }

    func checkVersions(_ db: any SQLTransaction, _ expected: [String: Int64]) throws {
        guard !expected.isEmpty else { return }
        let stored = try readVersions(db)
        for (object, version) in expected.sorted(by: { $0.key < $1.key }) {
            let current = stored[object] ?? 0
            if current != version {
                throw StoreError(.conflict, current == 0 ? "does not exist (expected version \(version))"
                                                        : "version is \(current), expected \(version)", object: object)
            }
        }
    }
}

// MARK: - Reading

struct PoolID: Hashable {
    var name: String
    var type: String
}

/// The config with the stored positions that the model does not carry.
struct StoredConfig {
    var config = GSLBConfig()
    var memberPositions: [PoolID: [String: Int]] = [:]
    var topologyPositions: [String: Int] = [:]
}

func decodeEnum<E: RawRepresentable>(_ raw: String, _ column: String) throws -> E where E.RawValue == String {
    guard let value = E(rawValue: raw) else {
        throw StoreError(.database, "unknown value \"\(raw)\" in \(column) (written by a newer Cairn?)")
    }
    return value
}

func geoPoint(_ row: SQLRow) -> GeoPoint? {
    let lat: Double? = row["lat"], lon: Double? = row["lon"]
    guard let lat, let lon else { return nil }
    return GeoPoint(lat: lat, lon: lon)
}

extension Store {
    static func readConfig(_ db: any SQLTransaction) throws -> StoredConfig {
        var stored = StoredConfig()
        stored.config.sites = try db.fetch("SELECT * FROM sites ORDER BY name").map { row in
            Site(name: row["name"], region: row["region"], location: geoPoint(row), capacity: row["capacity"], load: row["load"])
        }
        stored.config.monitors = try db.fetch("SELECT * FROM monitors ORDER BY name").map { row in
            let name: String = row["name"]
            let json: String = row["options_json"]
            guard let options = try? JSONDecoder().decode([String: String].self, from: Data(json.utf8)) else {
                throw StoreError(.database, "monitors.options_json is not a JSON object of strings", object: ObjectName.monitor(name))
            }
            return Monitor(name: name, type: try decodeEnum(row["type"], "monitors.type"), port: row["port"],
                           intervalMs: row["interval_ms"], timeoutMs: row["timeout_ms"], rise: row["rise"], fall: row["fall"],
                           options: options, quorum: try (row["quorum"] as String?).map { try decodeEnum($0, "monitors.quorum") })
        }

        var membersByPool: [PoolID: [Member]] = [:]
        for row in try db.fetch("SELECT * FROM members ORDER BY pool_name, pool_type, position, id") {
            let id = PoolID(name: row["pool_name"], type: row["pool_type"])
            let probeAddress: String? = row["probe_address"], probePort: Int? = row["probe_port"]
            let probe = probeAddress == nil && probePort == nil ? nil : ProbeTarget(address: probeAddress, port: probePort)
            let member = Member(site: row["site"], address: row["address"], weight: row["weight"], priority: row["priority"],
                                state: try decodeEnum(row["state"], "members.state"), monitor: row["monitor"],
                                probe: probe, load: row["load"])
            membersByPool[id, default: []].append(member)
            stored.memberPositions[id, default: [:]][member.address] = row["position"]
        }
        stored.config.pools = try db.fetch("SELECT * FROM pools ORDER BY name, type").map { row in
            let id = PoolID(name: row["name"], type: row["type"])
            let fallbackText: String = row["fallback"]
            guard let fallback = Fallback(text: fallbackText) else {
                throw StoreError(.database, "unknown fallback \"\(fallbackText)\"", object: ObjectName.pool(id.name, id.type))
            }
            return Pool(name: id.name, type: id.type, policy: try decodeEnum(row["policy"], "pools.policy"),
                        ttl: row["ttl"], answers: row["answers"], ecs: row["ecs"], fallback: fallback,
                        monitor: row["monitor"], rto: row["rto"], members: membersByPool[id] ?? [])
        }

        stored.config.topology = try db.fetch("SELECT * FROM topology ORDER BY position, id").map { row in
            let entry = TopologyEntry(network: row["network"], region: row["region"], site: row["site"], location: geoPoint(row))
            stored.topologyPositions[entry.network] = row["position"]
            return entry
        }
        if let row = try db.fetch("SELECT * FROM geoip").first {
            let json: String = row["map"]
            guard let map = try? JSONDecoder().decode([GeoIPMapEntry].self, from: Data(json.utf8)) else {
                throw StoreError(.database, "geoip.map is not a JSON list of map entries", object: ObjectName.geoip)
            }
            stored.config.geoip = GeoIPConfig(database: row["database"], map: map)
        }
        return stored
    }
}

// MARK: - Writing

extension Store {
    /// Rejects what the tables could not store faithfully (checked before any write).
    static func normalized(_ input: GSLBConfig) throws -> GSLBConfig {
        var config = input
        func finite(_ value: Double?, _ what: @autoclosure () -> String, _ object: @autoclosure () -> String) throws {
            if let value, !value.isFinite {
                throw StoreError(.invalid, "\(what()) is not a finite number", object: object())
            }
        }
        func unique<K: Hashable>(_ keys: [K], _ kind: String, _ name: (K) -> String) throws {
            var seen = Set<K>()
            for key in keys where !seen.insert(key).inserted {
                throw StoreError(.invalid, "duplicate \(kind)", object: name(key))
            }
        }
        try unique(config.sites.map(\.name), "site", ObjectName.site)
        try unique(config.monitors.map(\.name), "monitor", ObjectName.monitor)
        try unique(config.pools.map { PoolID(name: $0.name, type: $0.type) }, "pool") { ObjectName.pool($0.name, $0.type) }
        try unique(config.topology.map(\.network), "topology network", ObjectName.topology)
        for site in config.sites {
            let object = ObjectName.site(site.name)
            try finite(site.location?.lat, "location.lat", object)
            try finite(site.location?.lon, "location.lon", object)
            try finite(site.capacity, "capacity", object)
            try finite(site.load, "load", object)
        }
        for p in config.pools.indices {
            let pool = config.pools[p]
            let object = ObjectName.pool(pool.name, pool.type)
            try finite(pool.rto, "rto", object)
            try unique(pool.members.map(\.address), "member address") { "\(object) member \($0)" }
            for m in pool.members.indices {
                let member = pool.members[m]
                try finite(member.load, "member \(member.address) load", object)
                // An empty probe target is stored as none.
                if let probe = member.probe, probe.address == nil, probe.port == nil {
                    config.pools[p].members[m].probe = nil
                }
            }
        }
        for entry in config.topology {
            try finite(entry.location?.lat, "location.lat", ObjectName.topology(entry.network))
            try finite(entry.location?.lon, "location.lon", ObjectName.topology(entry.network))
        }
        for entry in config.geoip?.map ?? [] {
            try finite(entry.location?.lat, "\(entry.place) location.lat", ObjectName.geoip)
            try finite(entry.location?.lon, "\(entry.place) location.lon", ObjectName.geoip)
        }
        return config
    }

    /// Writes `input` over the stored config `cache` (read in this transaction), bumping the config generation when
    /// anything changed. Returns the audit rows and, with `prune` (the stored config then equals `input`), the cache
    /// entry after the write; nil without `prune` (objects absent from `input` stay where they were stored).
    static func applyConfig(_ db: any SQLTransaction, _ input: GSLBConfig, prune: Bool, template: AuditEntry,
                            over cache: ConfigCache) throws -> (audit: [AuditEntry], next: ConfigCache?) {
        let new = try normalized(input)
        let old = cache.stored
        var ledger = VersionLedger(versions: cache.versions)
        let known = References(sites: Set(old.config.sites.map(\.name)).union(new.sites.map(\.name)),
                               monitors: Set(old.config.monitors.map(\.name)).union(new.monitors.map(\.name)))
        var log: [AuditEntry] = []
        /// Audits a change of `object` and keeps its version: created without `before`, deleted without `after`.
        func record(_ object: String, before: String?, after: String?) {
            var entry = template
            entry.action = before == nil ? "create" : after == nil ? "delete" : "update"
            entry.object = object; entry.before = before; entry.after = after
            log.append(entry)
            if before == nil { ledger.created(object) } else if after == nil { ledger.deleted(object) } else { ledger.updated(object) }
        }

        /// Writes and audits each object of `items` that differs from its namesake in `stored`: a row of `table` keyed by
        /// `name`, `values` in the order of `columns`.
        func writeNamed<T: Equatable & Encodable>(_ items: [T], over stored: [T], name: (T) -> String, object: (String) -> String,
                                                  _ table: String, _ columns: [String], _ values: (T) -> [any SQLBindable]) throws {
            let byName = Dictionary(stored.map { (name($0), $0) }, uniquingKeysWith: { a, _ in a })
            for item in items {
                let key = object(name(item)), before = byName[name(item)]
                guard before != item else { continue }
                try guarded(key) { try writeConfigRow(db, table, columns, keys: ["name"], values(item) + [name(item)], update: before != nil) }
                record(key, before: before.map(AuditJSON.encode), after: AuditJSON.encode(item))
            }
        }
        // Sites and monitors first: pools, members and topology refer to them.
        try writeNamed(new.sites, over: old.config.sites, name: \.name, object: ObjectName.site, "sites",
                       ["region", "lat", "lon", "capacity", "load"]) { [$0.region, $0.location?.lat, $0.location?.lon, $0.capacity, $0.load] }
        try writeNamed(new.monitors, over: old.config.monitors, name: \.name, object: ObjectName.monitor, "monitors",
                       ["type", "port", "interval_ms", "timeout_ms", "rise", "fall", "options_json", "quorum"]) {
            [$0.type.rawValue, $0.port, $0.intervalMs, $0.timeoutMs, $0.rise, $0.fall, AuditJSON.encode($0.options), $0.quorum?.rawValue]
        }

        var poolsChanged = false
        let oldPools = Dictionary(old.config.pools.map { (PoolID(name: $0.name, type: $0.type), $0) }, uniquingKeysWith: { a, _ in a })
        for pool in new.pools {
            let id = PoolID(name: pool.name, type: pool.type)
            let object = ObjectName.pool(pool.name, pool.type), before = oldPools[id]
            guard before != pool else { continue }
            poolsChanged = true
            try guarded(object, known, monitors: [pool.monitor].compactMap { $0 }) {
                try writeConfigRow(db, "pools", ["policy", "ttl", "answers", "ecs", "fallback", "monitor", "rto"], keys: ["name", "type"],
                           [pool.policy.rawValue, pool.ttl, pool.answers, pool.ecs, pool.fallback.description, pool.monitor, pool.rto,
                            pool.name, pool.type], update: before != nil)
            }
            let newAddresses = Set(pool.members.map(\.address))
            for member in before?.members ?? [] where !newAddresses.contains(member.address) {
                try db.execute("DELETE FROM members WHERE pool_name = ? AND pool_type = ? AND address = ?", [pool.name, pool.type, member.address])
                ledger.deleted(ObjectName.member(pool.name, pool.type, member.address))
            }
            let oldMembers = Dictionary((before?.members ?? []).map { ($0.address, $0) }, uniquingKeysWith: { a, _ in a })
            let positions = old.memberPositions[id] ?? [:]
            for (position, member) in pool.members.enumerated() {
                let previous = oldMembers[member.address]
                guard previous != member || positions[member.address] != position else { continue }
                try guarded(object, known, sites: [member.site], monitors: [member.monitor].compactMap { $0 },
                            what: "member \(member.address)") {
                    try writeConfigRow(db, "members", ["site", "weight", "priority", "state", "monitor", "probe_address", "probe_port", "load",
                                               "position"], keys: ["pool_name", "pool_type", "address"],
                               [member.site, member.weight, member.priority, member.state.rawValue, member.monitor, member.probe?.address,
                                member.probe?.port, member.load, position, pool.name, pool.type, member.address], update: previous != nil)
                }
                let key = ObjectName.member(pool.name, pool.type, member.address)
                if previous == nil { ledger.created(key) } else { ledger.updated(key) }
            }
            record(object, before: before.map(AuditJSON.encode), after: AuditJSON.encode(pool))
        }

        let oldTopology = Dictionary(old.config.topology.map { ($0.network, $0) }, uniquingKeysWith: { a, _ in a })
        for (position, entry) in new.topology.enumerated() {
            let object = ObjectName.topology(entry.network), before = oldTopology[entry.network]
            let oldPosition = old.topologyPositions[entry.network] ?? -1
            guard before != entry || oldPosition != position else { continue }
            try guarded(object, known, sites: [entry.site].compactMap { $0 }) {
                try writeConfigRow(db, "topology", ["region", "site", "lat", "lon", "position"], keys: ["network"],
                           [entry.region, entry.site, entry.location?.lat, entry.location?.lon, position, entry.network], update: before != nil)
            }
            record(object, before: before.map { AuditJSON.topology($0, position: oldPosition) },
                   after: AuditJSON.topology(entry, position: position))
        }

        // The geoip section: one object, written whole. Without prune, a file without it leaves it alone.
        if let g = new.geoip, g != old.config.geoip {
            let map = String(decoding: try JSONEncoder().encode(g.map), as: UTF8.self)
            try writeConfigRow(db, "geoip", ["database", "map"], keys: ["name"], [g.database, map, "geoip"], update: old.config.geoip != nil)
            record(ObjectName.geoip, before: old.config.geoip.map(AuditJSON.encode), after: AuditJSON.encode(g))
        } else if new.geoip == nil, prune, let before = old.config.geoip {
            try db.execute("DELETE FROM geoip")
            record(ObjectName.geoip, before: AuditJSON.encode(before), after: nil)
        }

        if prune {
            // Referring objects first: topology and pools (members cascade), then monitors and sites.
            func delete(_ object: String, _ table: String, _ keys: String, _ values: [any SQLBindable], before: String) throws {
                try guarded(object) { try db.execute("DELETE FROM \(table) WHERE \(keys)", values) }
                record(object, before: before, after: nil)
            }
            let networks = Set(new.topology.map(\.network))
            for entry in old.config.topology where !networks.contains(entry.network) {
                try delete(ObjectName.topology(entry.network), "topology", "network = ?", [entry.network],
                           before: AuditJSON.topology(entry, position: old.topologyPositions[entry.network] ?? -1))
            }
            let pools = Set(new.pools.map { PoolID(name: $0.name, type: $0.type) })
            for pool in old.config.pools where !pools.contains(PoolID(name: pool.name, type: pool.type)) {
                poolsChanged = true
                try delete(ObjectName.pool(pool.name, pool.type), "pools", "name = ? AND type = ?", [pool.name, pool.type],
                           before: AuditJSON.encode(pool))
                for member in pool.members { ledger.deleted(ObjectName.member(pool.name, pool.type, member.address)) }
            }
            let monitors = Set(new.monitors.map(\.name))
            for monitor in old.config.monitors where !monitors.contains(monitor.name) {
                try delete(ObjectName.monitor(monitor.name), "monitors", "name = ?", [monitor.name], before: AuditJSON.encode(monitor))
            }
            let sites = Set(new.sites.map(\.name))
            for site in old.config.sites where !sites.contains(site.name) {
                try delete(ObjectName.site(site.name), "sites", "name = ?", [site.name], before: AuditJSON.encode(site))
            }
        }

        if poolsChanged {
            // The last known health of members that no longer exist.
            try db.execute("""
                DELETE FROM member_health WHERE NOT EXISTS (
                    SELECT 1 FROM members m WHERE m.pool_name = member_health.pool_name AND m.address = member_health.address)
                """)
        }
        if log.contains(where: { $0.object.hasPrefix("topology:") }) {
            // The table as a whole has a version too: `PUT /v1/topology` replaces it under If-Match.
            try db.execute("UPDATE collection_versions SET version = version + 1 WHERE name = 'topology'")
        }
        guard !log.isEmpty else { return ([], prune ? cache : nil) }
        try db.execute("UPDATE collection_versions SET version = version + 1 WHERE name = ?", [ConfigCache.generationRow])
        let next = prune && cache.generation >= 0
            ? ConfigCache(generation: cache.generation + 1, stored: .afterPrunedWrite(of: new, over: old), versions: ledger.versions)
            : nil
        return (try insertAudit(db, log, node: template.node), next)
    }

    /// Writes one row of a config table: an UPDATE of `columns` (version + 1) of the row whose `keys` match, or
    /// an INSERT of `columns` and `keys`; `values` in that order, the keys' last.
    static func writeConfigRow(_ db: any SQLTransaction, _ table: String, _ columns: [String], keys: [String], _ values: [any SQLBindable],
                       update: Bool) throws {
        if update {
            let set = columns.map { "\($0) = ?" }.joined(separator: ", "), match = keys.map { "\($0) = ?" }.joined(separator: " AND ")
            try db.execute("UPDATE \(table) SET \(set), version = version + 1 WHERE \(match)", values)
        } else {
            try db.execute("INSERT INTO \(table) (\((columns + keys).joined(separator: ", "))) VALUES (\(SQLDialect.questionMarks(values.count)))",
                           values)
        }
    }

    /// The sites and monitors in the store while a config is written: the old ones and the
    /// new ones (sites and monitors are written first and deleted last). A foreign-key failure
    /// is explained from these sets, not by querying the database again: PostgreSQL refuses
    /// any further statement in a transaction once one failed.
    struct References {
        var sites: Set<String>
        var monitors: Set<String>
    }

    /// Runs one statement; a constraint failure becomes a `StoreError` naming the object and,
    /// for a foreign key, the missing site or monitor.
    static func guarded(_ object: String, _ known: References = References(sites: [], monitors: []),
                        sites: [String] = [], monitors: [String] = [],
                        what: String? = nil, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as SQLError where error.kind == .constraint || error.kind == .foreignKey {
            var message = error.message
            if error.kind == .foreignKey {
                let missing = sites.filter { !known.sites.contains($0) }.map { "unknown site \"\($0)\"" }
                    + monitors.filter { !known.monitors.contains($0) }.map { "unknown monitor \"\($0)\"" }
                if !missing.isEmpty {
                    message = missing.joined(separator: ", ")
                } else if object.hasPrefix("site:") || object.hasPrefix("monitor:") {
                    message = "still referred to by a pool, member or topology entry"
                }
            }
            if let what { message = "\(what): \(message)" }
            throw StoreError(.constraint, message, object: object)
        }
    }
}
