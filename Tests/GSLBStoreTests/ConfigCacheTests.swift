import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
/// The config a store keeps in memory between reads (`Store+ConfigCache.swift`) is always what the tables hold:
/// after each kind of write it equals a read that bypasses the cache, and another store's write is seen at once.
@Suite struct ConfigCacheTests {
    /// What the tables hold, read without the cache: config, member and topology positions, versions.
    struct Tables: Equatable {
        var config: GSLBConfig
        var memberPositions: [String: [String: Int]]
        var topologyPositions: [String: Int]
        var versions: [String: Int64]

        init(_ stored: StoredConfig, versions: [String: Int64]) {
            config = stored.config
            // A pool without members has no position entry when read; the same meaning as an empty one.
            memberPositions = Dictionary(uniqueKeysWithValues: stored.memberPositions.compactMap { id, positions in
                positions.isEmpty ? nil : ("\(id.name)/\(id.type)", positions)
            })
            topologyPositions = stored.topologyPositions
            self.versions = versions
        }
    }

    static func fresh(_ store: Store) throws -> Tables {
        try store.read("test") { db in Tables(try Store.readConfig(db), versions: try Store.readConfigVersions(db)) }
    }

    static func cached(_ store: Store) throws -> Tables {
        try store.read("test") { db in
            let cache = try store.cachedConfig(db)
            return Tables(cache.stored, versions: cache.versions)
        }
    }

    @Test(arguments: Backend.allCases) func theCacheAfterEachKindOfWriteIsWhatTheTablesHold(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let p = "w", s = "t"
        func check(_ step: String) throws {
            let fresh = try Self.fresh(store)
            #expect(try Self.cached(store) == fresh, "after \(step)")
            #expect(try store.exportConfig() == fresh.config, "after \(step)")
            // The cache is the one the write left: no read since, yet equal.
            #expect(store.configCache.withLock { $0 } != nil, "after \(step)")
        }
        try store.replaceConfig(fullConfig(), principal: p, source: s, prune: false)
        _ = try store.exportConfig()
        try check("the first apply")
        let steps: [(String, (inout GSLBConfig) -> Void)] = [
            ("a weight change", { $0.pools[1].members[0].weight = 7 }),
            ("members reordered", { $0.pools[1].members.reverse() }),
            ("a member removed", { $0.pools[1].members.remove(at: 1) }),
            ("a member added first", { $0.pools[1].members.insert(Member(site: "fra", address: "192.0.2.77"), at: 0) }),
            ("a pool added, names out of order", { $0.pools.append(Pool(name: "aaa.example.com.", type: "A", policy: .weighted,
                                                                       members: [Member(site: "sin", address: "192.0.2.5")])) }),
            ("a pool without members", { $0.pools.append(Pool(name: "empty.example.com.", type: "A", policy: .weighted)) }),
            ("a pool removed", { $0.pools.removeAll { $0.name == "backup.example.com." }
                                 $0.pools = $0.pools.map { var p = $0; if p.fallback == .pool("backup.example.com.") { p.fallback = .none }; return p } }),
            ("topology reordered and one removed", { $0.topology.reverse(); $0.topology.removeLast() }),
            ("a site changed and one added", { $0.sites[0].load = 1; $0.sites.append(Site(name: "ams", region: "eu")) }),
            ("a monitor changed", { $0.monitors[0].rise = 5 }),
            ("a geoip section added", { $0.geoip = GeoIPConfig(database: "city.mmdb") }),
            ("the geoip section changed", { $0.geoip?.database = "country.mmdb" }),
            ("the geoip section removed", { $0.geoip = nil }),
            ("nothing", { _ in }),
        ]
        for (step, change) in steps {
            try store.modifyConfig(principal: p, source: s) { change(&$0) }
            try check(step)
        }
        // Without prune, what the file leaves out stays where it was stored: the cache is read again.
        var partial = GSLBConfig()
        partial.sites = [Site(name: "zrh", region: "eu")]
        partial.topology = [TopologyEntry(network: "192.0.2.0/24", site: "zrh")]
        try store.replaceConfig(partial, principal: p, source: s, prune: false)
        #expect(try Self.cached(store) == Self.fresh(store))
        try store.modifyConfig(principal: p, source: s) { $0.topology.insert(TopologyEntry(network: "10.0.0.0/8", region: "us"), at: 0) }
        try check("a topology entry inserted after a partial apply")
    }

    @Test(arguments: Backend.allCases) func anotherStoresWriteIsSeenAtOnce(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let server = try place.open(), cli = try place.open()
        try server.replaceConfig(fullConfig(), principal: "t", source: "test", prune: false)
        #expect(try server.exportConfig() == Self.fresh(server).config)
        // Another process (a `cairn apply`, another node) writes: the server's next read sees it, and its next
        // read-modify-write starts from it (not from what it cached).
        try cli.modifyConfig(principal: "t", source: "cli") { $0.pools[1].members[0].weight = 3 }
        #expect(try server.exportConfig().pools[1].members[0].weight == 3)
        try server.modifyConfig(principal: "t", source: "api") { $0.pools[1].members[1].weight = 4 }
        let after = try cli.exportConfig()
        #expect(after.pools[1].members[0].weight == 3)
        #expect(after.pools[1].members[1].weight == 4)
        #expect(try Self.cached(cli) == Self.fresh(cli))
        #expect(try server.objectVersions() == cli.objectVersions())
    }
}
}
