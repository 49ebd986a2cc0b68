import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
@Suite struct ConfigTests {
    @Test(arguments: Backend.allCases) func replaceConfigRoundTripsEveryField(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let audit = try store.replaceConfig(fullConfig(), principal: "alice", source: "cli", prune: false)
        #expect(try store.loadState().config == fullConfig())
        #expect(try store.exportConfig() == fullConfig())
        // One create per object: 3 sites, 2 monitors, 3 pools, 3 topology entries.
        #expect(audit.count == 11)
        #expect(audit.allSatisfy { $0.action == "create" && $0.before == nil && $0.after != nil && $0.principal == "alice" })
        #expect(Set(audit.map(\.object)).isSuperset(of: ["site:fra", "monitor:web", "pool:www.example.com./A",
                                                          "pool:www.example.com./AAAA", "topology:203.0.113.0/24"]))
        #expect(try store.listAudit(limit: 100).map(\.object) == audit.map(\.object))
        let versions = try store.objectVersions()
        #expect(versions.filter { $0.key != ObjectName.topologyTable }.values.allSatisfy { $0 == 1 })
        // The topology table as a whole: 1 when empty, bumped once by the write that filled it.
        #expect(versions[ObjectName.topologyTable] == 2)
    }

    @Test(arguments: Backend.allCases) func applyingTheSameConfigAgainWritesNothing(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        try store.replaceConfig(fullConfig(), principal: "alice", source: "cli", prune: true)
        let before = try Observed(store)
        let token = try store.changeToken()
        #expect(try store.replaceConfig(fullConfig(), principal: "bob", source: "cli", prune: true).isEmpty)
        #expect(try Observed(store) == before)
        #expect(try store.changeToken() == token)
    }

    @Test(arguments: Backend.allCases) func aChangedWeightBumpsThePoolAndMemberVersionsAndWritesOneAuditRow(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        try store.replaceConfig(fullConfig(), principal: "alice", source: "cli", prune: false)
        let versions = try store.objectVersions()

        var config = fullConfig()
        config.pools[1].members[1].weight = 75
        let audit = try store.replaceConfig(config, principal: "bob", source: "10.0.0.5", requestID: "req-1", prune: false)

        #expect(audit.count == 1)
        let row = try #require(audit.first)
        #expect(row.action == "update" && row.object == "pool:www.example.com./A")
        #expect(row.principal == "bob" && row.source == "10.0.0.5" && row.requestID == "req-1" && row.time == fixedTime)
        #expect(row.before?.contains("\"weight\":100") == true)
        #expect(row.after?.contains("\"weight\":75") == true)
        #expect(row.after?.contains("\"weight\":100") == false)
        #expect(try store.listAudit(object: "pool:www.example.com./A", limit: 10).last == row)

        var expected = versions
        expected["pool:www.example.com./A"] = 2
        expected["member:www.example.com./A/192.0.2.10"] = 2
        #expect(try store.objectVersions() == expected)
        #expect(try store.loadState().config == config)
    }

    /// `previewConfig` returns the rows `replaceConfig` would write and changes nothing (no row, no version,
    /// no change token), on both backends.
    @Test(arguments: Backend.allCases) func previewConfigReturnsTheChangesAndWritesNothing(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        try store.replaceConfig(fullConfig(), principal: "alice", source: "cli", prune: false)
        let before = try Observed(store)
        let token = try store.changeToken()
        var config = fullConfig()
        config.pools[1].members[1].weight = 75
        let preview = try store.previewConfig(config, prune: false)
        #expect(preview.map(\.action) == ["update"] && preview.first?.object == "pool:www.example.com./A")
        #expect(preview.first?.id == nil)
        #expect(ConfigChange.from(preview).first?.fields.map(\.key) == ["members[192.0.2.10].weight"])
        #expect(try Observed(store) == before)
        #expect(try store.changeToken() == token)
        #expect(try store.previewConfig(fullConfig(), prune: false).isEmpty)
    }

    @Test(arguments: Backend.allCases) func reorderingMembersIsStoredAndAudited(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        try store.replaceConfig(fullConfig(), principal: "alice", source: "cli", prune: false)
        var config = fullConfig()
        config.pools[1].members.reverse()
        config.pools[1].members.append(Member(site: "fra", address: "192.0.2.11"))
        config.topology.swapAt(0, 2)
        let audit = try store.replaceConfig(config, principal: "alice", source: "cli", prune: false)
        #expect(audit.map(\.object) == ["pool:www.example.com./A", "topology:2001:db8::/32", "topology:203.0.113.0/24"])
        #expect(try store.loadState().config == config)
        #expect(try store.objectVersions()["member:www.example.com./A/192.0.2.11"] == 1)
    }

    @Test(arguments: Backend.allCases) func pruneDeletesAbsentObjectsWithAuditRows(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        try store.replaceConfig(fullConfig(), principal: "alice", source: "cli", prune: false)
        try store.recordHealth(MemberHealth(key: MemberKey(pool: "backup.example.com.", address: "203.0.113.99"),
                                            state: .up, since: 5))
        var config = fullConfig()
        config.pools.remove(at: 0)                            // backup.example.com./A, the only user of sin...
        config.pools[0].fallback = .all
        config.pools[0].members.remove(at: 2)                 // ...with this member
        config.topology.remove(at: 2)                         // ...and this entry
        config.sites.remove(at: 2)                            // sin
        config.monitors.remove(at: 0)                         // tcp443, used by a member:
        config.pools[0].members[0].monitor = nil

        let withoutPrune = try store.replaceConfig(config, principal: "alice", source: "cli", prune: false)
        #expect(withoutPrune.map(\.action) == ["update"])      // the changed pool; nothing deleted
        #expect(try store.loadState().config.sites.count == 3)

        let audit = try store.replaceConfig(config, principal: "alice", source: "cli", prune: true)
        #expect(audit.map(\.action) == ["delete", "delete", "delete", "delete"])
        #expect(audit.map(\.object) == ["topology:2001:db8::/32", "pool:backup.example.com./A", "monitor:tcp443", "site:sin"])
        #expect(audit.allSatisfy { $0.before != nil && $0.after == nil })
        let state = try store.loadState()
        #expect(state.config == config)
        #expect(state.health.isEmpty)                          // health of the deleted member went with it
        #expect(try store.objectVersions()["member:backup.example.com./A/203.0.113.99"] == nil)
    }

    @Test(arguments: Backend.allCases) func aMemberAtAnUnknownSiteIsRejectedAndNothingIsWritten(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        try store.replaceConfig(fullConfig(), principal: "alice", source: "cli", prune: false)
        let before = try Observed(store)
        let token = try store.changeToken()

        var config = fullConfig()
        config.sites[0].capacity = 2000                       // written first, must be rolled back
        config.pools[1].members.append(Member(site: "nowhere", address: "192.0.2.99"))
        do {
            try store.replaceConfig(config, principal: "alice", source: "cli", prune: false)
            Issue.record("an unknown site was accepted")
        } catch let error as StoreError {
            #expect(error.code == .constraint)
            #expect(error.object == "pool:www.example.com./A")
            #expect(error.message.contains("unknown site \"nowhere\""))
        }
        #expect(try Observed(store) == before)
        #expect(try store.changeToken() == token)
    }

    @Test(arguments: Backend.allCases) func aPoolWithAnUnknownMonitorIsRejected(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        var config = fullConfig()
        config.monitors.removeAll()
        let error = try #require(throws: StoreError.self) {
            try store.replaceConfig(config, principal: "alice", source: "cli", prune: false)
        }
        #expect(error.code == .constraint && error.message.contains("unknown monitor"))
        #expect(try store.loadState() == GSLBState())
    }

    @Test(arguments: Backend.allCases) func duplicateKeysAreRejectedBeforeAnyWrite(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        var config = fullConfig()
        config.sites.append(Site(name: "fra"))
        #expect(throws: StoreError(.invalid, "duplicate site", object: "site:fra")) {
            try store.replaceConfig(config, principal: "alice", source: "cli", prune: false)
        }
        config = fullConfig()
        config.pools[2].members.append(Member(site: "iad", address: "2001:db8::10"))
        #expect(throws: StoreError.self) { try store.replaceConfig(config, principal: "a", source: "cli", prune: false) }
        #expect(try store.loadState() == GSLBState())
    }

    @Test(arguments: Backend.allCases) func anEmptyProbeTargetIsStoredAsNone(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        var config = fullConfig()
        config.pools[0].members[0].probe = ProbeTarget()
        try store.replaceConfig(config, principal: "alice", source: "cli", prune: false)
        #expect(try store.loadState().config == fullConfig())
        #expect(try store.replaceConfig(config, principal: "alice", source: "cli", prune: false).isEmpty)
    }

    @Test(arguments: Backend.allCases) func modifyConfigRefusesAStaleVersion(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        try store.replaceConfig(fullConfig(), principal: "alice", source: "cli", prune: false)
        let write = try store.modifyConfig(principal: "api", source: "127.0.0.1", expectedVersions: ["site:iad": 1]) { config in
            config.sites[1].capacity = 600
        }
        #expect(write.audit.map(\.object) == ["site:iad"])
        // What the write made, read inside its transaction.
        #expect(write.versions["site:iad"] == 2 && write.config.sites[1].capacity == 600)
        let before = try Observed(store)
        let error = try #require(throws: StoreError.self) {
            try store.modifyConfig(principal: "api", source: "127.0.0.1", expectedVersions: ["site:iad": 1]) { config in
                config.sites[1].capacity = 700
            }
        }
        #expect(error.code == .conflict && error.object == "site:iad")
        // Version 0 means "must not exist yet".
        #expect(throws: StoreError.self) {
            try store.modifyConfig(principal: "api", source: "x", expectedVersions: ["site:fra": 0]) { _ in }
        }
        #expect(try Observed(store) == before)
        let created = try store.modifyConfig(principal: "api", source: "x", expectedVersions: ["site:ams": 0]) { config in
            config.sites.append(Site(name: "ams"))
        }
        #expect(created.audit.map(\.action) == ["create"])
    }

    /// Two writers (two processes on SQLite, two nodes on PostgreSQL) each read-change-write the
    /// same site 20 times at once: writes are serialised, none is lost.
    @Test(arguments: Backend.allCases) func concurrentReadChangeWritesAreSerialisedAndNoneIsLost(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        try place.open().replaceConfig(GSLBConfig(sites: [Site(name: "fra", capacity: 0)]), principal: "t", source: "t", prune: true)
        let stores = [try place.open(), try place.open()]
        DispatchQueue.concurrentPerform(iterations: stores.count * 20) { i in
            do {
                try stores[i % 2].modifyConfig(principal: "w\(i % 2)", source: "t") { config in
                    config.sites[0].capacity = (config.sites[0].capacity ?? 0) + 1
                }
            } catch {
                Issue.record("write \(i): \(error)")
            }
        }
        #expect(try stores[0].loadState().config.sites[0].capacity == 40)
        #expect(try stores[1].objectVersions()["site:fra"] == 41)
        #expect(try stores[0].listAudit(object: "site:fra", limit: 100).count == 41)
    }
}
}
