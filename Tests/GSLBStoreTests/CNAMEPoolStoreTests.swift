import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
/// CNAME pools in the store (migration v8): stored, read back, and a v7 store keeps its pools and members.
@Suite struct CNAMEPoolStoreTests {
    static func withCNAMEPool(_ c: GSLBConfig) -> GSLBConfig {
        var c = c
        c.pools.append(Pool(name: "zcdn.example.com.", type: "CNAME", policy: .closest, ttl: 60, monitor: "web", members: [
            Member(site: "fra", address: "fra1.example.com.", priority: 1),
            Member(site: "iad", address: "edge.cdn-provider.net.", priority: 2, probe: ProbeTarget(address: "198.51.100.80", port: 8080)),
        ]))
        return c
    }

    @Test(arguments: Backend.allCases) func aCNAMEPoolRoundTripsWithItsTargets(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let config = Self.withCNAMEPool(fullConfig())
        _ = try store.replaceConfig(config, principal: "t", source: "test", prune: false)
        #expect(try store.loadState().config == config)
        #expect(try place.open().loadState().config == config)
    }

    /// A store as v7 left it (no `CNAME` in the pools' type CHECK), with pools and members: v8 keeps every
    /// row, id and version, and the store then takes CNAME pools.
    @Test(arguments: Backend.allCases) func aVersion6StoreKeepsItsPoolsAndTakesCNAMEPools(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        _ = try store.replaceConfig(fullConfig(), principal: "t", source: "test", prune: false)
        let versions = try store.objectVersions()
        // Back to v7's shape: the v8 script with v7's CHECK builds the same tables again, rows kept.
        let v6 = (backend == .sqlite ? Schema.v8 : Schema.v8Postgres).replacingOccurrences(of: ", 'CNAME'", with: "")
        try store.executeRaw(v6 + "; DELETE FROM grdb_migrations WHERE identifier = 'v8'")
        #expect(throws: (any Error).self) {
            try store.executeRaw("INSERT INTO pools (name, type, policy, ttl, answers, ecs) VALUES ('x.example.com.', 'CNAME', 'failover', 1, 1, 1)")
        }
        let migrated = try place.open()
        #expect(try migrated.appliedMigrations() == Set(Store.knownMigrations))
        #expect(try migrated.loadState().config == fullConfig())
        #expect(try migrated.objectVersions() == versions)
        let config = Self.withCNAMEPool(fullConfig())
        _ = try migrated.replaceConfig(config, principal: "t", source: "test", prune: false)
        #expect(try migrated.loadState().config == config)
        // Members still cascade with their pool.
        _ = try migrated.replaceConfig(fullConfig(), principal: "t", source: "test", prune: true)
        #expect(try migrated.loadState().config == fullConfig())
    }
}
}
