import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
/// The `geoip` section (migration v10): stored, read back, audited, versioned and deleted, on both backends.
@Suite struct GeoIPStoreTests {
    static func withGeoIP(_ map: [GeoIPMapEntry]) -> GSLBConfig {
        var c = fullConfig()
        c.geoip = GeoIPConfig(database: "GeoLite2-City.mmdb", map: map)
        return c
    }

    static let map = [GeoIPMapEntry(continent: "EU", region: "eu"), GeoIPMapEntry(country: "US", site: "iad"),
                      GeoIPMapEntry(subdivision: "US-CA", location: GeoPoint(lat: 37.36, lon: -121.93))]

    @Test(arguments: Backend.allCases) func theGeoIPSectionRoundTripsAndIsAuditedAsOneObject(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        try store.replaceConfig(fullConfig(), principal: "alice", source: "cli", prune: true)
        let created = try store.replaceConfig(Self.withGeoIP(Self.map), principal: "alice", source: "cli", prune: true)
        #expect(created.map { "\($0.action) \($0.object)" } == ["create geoip"])
        #expect(try store.loadState().config == Self.withGeoIP(Self.map))
        #expect(try store.objectVersions()[ObjectName.geoip] == 1)
        // The same again: nothing.
        #expect(try store.replaceConfig(Self.withGeoIP(Self.map), principal: "alice", source: "cli", prune: true).isEmpty)
        // Another map: one update, old and new in the audit row, version 2.
        let changed = try store.replaceConfig(Self.withGeoIP(Array(Self.map.prefix(1))), principal: "bob", source: "cli", prune: true)
        #expect(changed.map { "\($0.action) \($0.object)" } == ["update geoip"])
        #expect(changed.first?.before?.contains("US-CA") == true && changed.first?.after?.contains("US-CA") == false)
        #expect(try store.objectVersions()[ObjectName.geoip] == 2)
        // Without prune, a config without it leaves it; with prune, it is deleted.
        #expect(try store.replaceConfig(fullConfig(), principal: "bob", source: "cli", prune: false).isEmpty)
        let deleted = try store.replaceConfig(fullConfig(), principal: "bob", source: "cli", prune: true)
        #expect(deleted.map { "\($0.action) \($0.object)" } == ["delete geoip"])
        #expect(try store.loadState().config.geoip == nil)
        #expect(try store.objectVersions()[ObjectName.geoip] == nil)
    }
}
}
