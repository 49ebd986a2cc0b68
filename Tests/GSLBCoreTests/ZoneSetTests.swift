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
}
