import GSLBCore

// The config kept in memory between reads, so that a write or a snapshot rebuild does not read
// every site, pool, member and topology entry back from the database (issues 12 and 15: a write
// costs what it changes). The database holds a config generation (`collection_versions` row
// `config`, migration v7) that every write of the config bumps in its own transaction; the cache
// is used only when its generation is the one the reading transaction sees, so another process's
// or another node's write is never missed, and a write's read-modify-write stays exact.

/// The config and its objects' versions as of one config generation.
struct ConfigCache: Sendable {
    /// The `collection_versions` row that counts config writes (not an object: no version key).
    static let generationRow = "config"

    var generation: Int64
    var stored: StoredConfig
    /// Versions of the config's objects (`Store.readConfigVersions`).
    var versions: [String: Int64]
}

extension Store {
    /// The config as the transaction sees it: from the cache when its generation is current, else read (and cached).
    func cachedConfig(_ db: any SQLTransaction) throws -> ConfigCache {
        // The generation the transaction sees; nil when the store has no generation row (then nothing is cached).
        let generation: Int64? = try db.fetchOne("SELECT version FROM collection_versions WHERE name = ?", [ConfigCache.generationRow])
            .map { $0[0] }
        if let generation, let cached = configCache.withLock({ $0 }), cached.generation == generation {
            return cached
        }
        let fresh = ConfigCache(generation: generation ?? -1, stored: try Self.readConfig(db),
                                versions: try Self.readConfigVersions(db))
        if generation != nil { remember(fresh) }
        return fresh
    }

    /// Keeps `entry` unless the cache already holds a later generation.
    func remember(_ entry: ConfigCache) {
        configCache.withLock { cache in
            if (cache?.generation ?? .min) <= entry.generation { cache = entry }
        }
    }
}

/// What a config write did to the stored objects' versions, kept while `applyConfig` writes, so that the
/// config and versions after the write are known without reading them back.
struct VersionLedger {
    var versions: [String: Int64]
    mutating func created(_ key: String) { versions[key] = 1 }   // every config table: DEFAULT 1
    mutating func updated(_ key: String) { versions[key, default: 0] += 1 }
    mutating func deleted(_ key: String) { versions[key] = nil }
}

extension StoredConfig {
    /// The stored config after `applyConfig(new, prune: true)` over `old`, as `Store.readConfig` would read it:
    /// sites and monitors by name, pools by name and type (byte order, as the tables' collation), members and
    /// topology in the order given; positions as written (a pool that did not change keeps its members' stored
    /// positions).
    static func afterPrunedWrite(of new: GSLBConfig, over old: StoredConfig) -> StoredConfig {
        func byBytes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
        var next = StoredConfig()
        next.config = new
        next.config.sites.sort { byBytes($0.name, $1.name) }
        next.config.monitors.sort { byBytes($0.name, $1.name) }
        next.config.pools.sort { $0.name != $1.name ? byBytes($0.name, $1.name) : byBytes($0.type, $1.type) }
        let oldPools = Dictionary(old.config.pools.map { (PoolID(name: $0.name, type: $0.type), $0) }, uniquingKeysWith: { a, _ in a })
        for pool in next.config.pools {
            let id = PoolID(name: pool.name, type: pool.type)
            if oldPools[id] == pool, let positions = old.memberPositions[id] {
                next.memberPositions[id] = positions
            } else {
                next.memberPositions[id] = Dictionary(pool.members.enumerated().map { ($1.address, $0) }, uniquingKeysWith: { a, _ in a })
            }
        }
        next.topologyPositions = Dictionary(new.topology.enumerated().map { ($1.network, $0) }, uniquingKeysWith: { a, _ in a })
        return next
    }
}
