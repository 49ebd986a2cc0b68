import DNSWire
import GSLBCore
import Testing

@Suite struct ZoneSetTests {
    static func zone(_ name: String) throws -> ZoneContent {
        ZoneContent(origin: try DomainName(name), records: [], source: "\(name)zone")
    }

    @Test func aZoneThatFailsKeepsItsPreviousVersionAndAZoneThatIsGoneIsDropped() throws {
        var set = ZoneSet()
        set.apply(ZoneLoadResult(zones: [try Self.zone("a.test."), try Self.zone("b.test.")], failures: []))
        set.apply(ZoneLoadResult(zones: [], failures: [.init(origin: try DomainName("a.test."), message: "a.test.zone:3: bad")]))
        #expect(Set(set.zones.keys) == [try DomainName("a.test.")])
        #expect(set.stale == [try DomainName("a.test.")])
    }

    @Test func anUnreadableDirectoryKeepsEveryZoneServing() throws {
        var set = ZoneSet()
        set.apply(ZoneLoadResult(zones: [try Self.zone("a.test."), try Self.zone("b.test.")], failures: []))
        // e.g. after dropping privileges the zone directory cannot be listed any more
        set.apply(ZoneLoadResult(zones: [], failures: [.init(origin: nil, message: "zones: cannot list zone directory")], complete: false))
        #expect(Set(set.zones.keys) == [try DomainName("a.test."), try DomainName("b.test.")])
        #expect(set.stale.count == 2)
    }

    /// A listed directory whose only file has a name that is no domain name: the zones that are gone are gone
    /// (the failure belongs to no zone; before, it was taken for an unreadable directory).
    @Test func aFailureOfNoZoneInAListedDirectoryStillDropsTheZonesThatAreGone() throws {
        var set = ZoneSet()
        set.apply(ZoneLoadResult(zones: [try Self.zone("a.test.")], failures: []))
        set.apply(ZoneLoadResult(zones: [], failures: [.init(origin: nil, message: "bad..name.zone:1: not a domain name")]))
        #expect(set.zones.isEmpty)
        #expect(set.stale.isEmpty)
    }

    @Test func anUnchangedZoneKeepsItsVersionAndOnlyChangedZonesAreLeftToIndex() throws {
        var set = ZoneSet()
        set.apply(ZoneLoadResult(zones: [try Self.zone("a.test."), try Self.zone("b.test.")], failures: []))
        #expect(set.changed == [try DomainName("a.test."), try DomainName("b.test.")])
        set.indexed()
        #expect(set.changed.isEmpty)
        set.apply(ZoneLoadResult(zones: [try Self.zone("b.test.")], failures: [], unchanged: [try DomainName("a.test.")]))
        #expect(Set(set.zones.keys) == [try DomainName("a.test."), try DomainName("b.test.")])
        #expect(set.changed == [try DomainName("b.test.")])
        #expect(set.stale.isEmpty)
        // Not indexed yet (the build failed): still to index after a load that found it unchanged.
        set.apply(ZoneLoadResult(zones: [], failures: [], unchanged: [try DomainName("a.test."), try DomainName("b.test.")]))
        #expect(set.changed == [try DomainName("b.test.")])
    }

    @Test func indexedDropsTheRecordsTheIndexNowHolds() throws {
        var set = ZoneSet()
        let o = try DomainName("a.test.")
        set.apply(ZoneLoadResult(zones: [ZoneContent(origin: o, records: [ResourceRecord(name: o, type: .a, ttl: 1, rdata: [1, 2, 3, 4])],
                                                     source: "a.test.zone", lines: [3], files: ["a.test.zone"])], failures: []))
        set.indexed()
        #expect(set.zones[o]?.records.isEmpty == true)
        #expect(set.zones[o]?.lines.isEmpty == true)
        #expect(set.zones[o]?.source == "a.test.zone")
    }
}
