import DNSWire
import GSLBCore
import Testing

/// A GeoIP database in memory: networks (longest first) to records. The real one (libmaxminddb over a
/// generated .mmdb) is tested in GeoIPTests and, end to end, in IntegrationTests.
final class FakeGeoDatabase: GeoDatabase {
    let networks: [(CIDR, GeoRecord)]
    let path = "fake.mmdb"
    let summary = "fake.mmdb: test"
    init(_ networks: [(String, GeoRecord)]) {
        self.networks = networks.map { (CIDR($0.0)!, $0.1) }.sorted { $0.0.prefix > $1.0.prefix }
    }
    func lookup(_ address: ClientAddress) -> GeoRecord {
        for (n, r) in networks where n.contains(address) {
            var r = r
            r.prefix = n.prefix
            return r
        }
        return GeoRecord(found: false, prefix: address.family == 4 ? 8 : 16)
    }

    static func record(_ continent: String, _ country: String, _ subdivision: String? = nil, _ location: GeoPoint? = nil) -> GeoRecord {
        GeoRecord(found: true, prefix: 0, continent: GeoRecord.pack(Array(continent.utf8)), country: GeoRecord.pack(Array(country.utf8)),
                  subdivision: subdivision.map { GeoRecord.pack(Array($0.utf8)) } ?? 0, location: location)
    }
}

@Suite struct GeoIPTopologyTests {
    typealias F = GSLBFixture

    static let db = FakeGeoDatabase([
        ("100.64.0.0/16", FakeGeoDatabase.record("EU", "DE", "BY", GeoPoint(lat: 48.14, lon: 11.58))),   // Munich
        ("100.65.0.0/16", FakeGeoDatabase.record("EU", "NL")),
        ("100.66.0.0/16", FakeGeoDatabase.record("EU", "FR")),                                         // continent only
        ("100.67.0.0/20", FakeGeoDatabase.record("OC", "NZ", nil, GeoPoint(lat: -36.85, lon: 174.76))), // no map entry
        ("100.68.0.0/16", FakeGeoDatabase.record("NA", "US", "CA")),
        ("203.0.113.0/24", FakeGeoDatabase.record("AS", "SG")),                                        // also a CIDR entry
    ])

    static let geoip = GeoIPConfig(database: "fake.mmdb", map: [
        GeoIPMapEntry(continent: "EU", region: "eu"),
        GeoIPMapEntry(country: "NL", site: "ams"),
        GeoIPMapEntry(country: "DE", site: "fra"),
        GeoIPMapEntry(country: "US", region: "us"),
        GeoIPMapEntry(subdivision: "US-CA", site: "sin"),
        GeoIPMapEntry(country: "SG", site: "sin"),
    ])

    static func snapshot(_ pool: Pool = Pool(name: "www.gslb.test.", policy: .closest, members: F.members()),
                         health: [MemberHealth] = []) throws -> ServingSnapshot {
        try SnapshotBuilder().build(zones: [F.zone()], gslb: GSLBState(
            config: GSLBConfig(sites: F.sites, pools: [pool], topology: F.topology, geoip: geoip),
            health: health, geo: GeoDatabaseRef(db)), now: 1000)
    }

    @Test func theMostSpecificMapEntryOfTheRecordDecides() throws {
        let snap = try Self.snapshot()
        #expect(try F.ask(snap, client: "100.65.1.1").1 == ["192.0.2.2"])    // country NL → site ams
        #expect(try F.ask(snap, client: "100.64.1.1").1 == ["192.0.2.1"])    // country DE → site fra
        #expect(try F.ask(snap, client: "100.66.1.1").1 == ["192.0.2.1"])    // FR: continent EU → region eu (fra first)
        #expect(try F.ask(snap, client: "100.68.1.1").1 == ["192.0.2.4"])    // subdivision US-CA → sin, before country US
    }

    @Test func aTopologyEntryThatMatchesWinsOverTheDatabase() throws {
        let snap = try Self.snapshot()
        // 203.0.113.0/24 is region eu by hand, SG in the database.
        #expect(try F.ask(snap, client: "203.0.113.9").1 == ["192.0.2.1"])
        let e = snap.explain(name: try DomainName("www.gslb.test."), type: .a, client: ClientAddress(text: "203.0.113.9")!, ecs: nil)
        #expect(e.topologyMatch == "203.0.113.0/24 → region eu (prefix /24)")
        #expect(e.geoip?.used == false && e.geoip?.country == "SG")
    }

    @Test func closestUsesTheRecordsCoordinatesWhenNoEntryMatches() throws {
        // Auckland: sin is nearest (then iad? no: fra and ams are farther than sin, iad too).
        let snap = try Self.snapshot(Pool(name: "www.gslb.test.", policy: .closest, answers: 2, members: F.members()))
        #expect(try F.ask(snap, client: "100.67.0.9").1 == ["192.0.2.4", "192.0.2.3"])
        let one = try Self.snapshot()
        #expect(try F.ask(one, client: "100.67.0.9").1 == ["192.0.2.4"])
        // The nearest down: the next nearest.
        let down = try Self.snapshot(health: [F.down("www.gslb.test.", "192.0.2.4")])
        #expect(try F.ask(down, client: "100.67.0.9").1 == ["192.0.2.3"])
        // Not in the database, no entry: the base order.
        #expect(try F.ask(one, client: "100.99.0.1").1 == ["192.0.2.1"])
    }

    @Test func theECSScopeIsTheDatabaseNetworksPrefixOrALongerEntry() throws {
        let snap = try Self.snapshot()
        // The fixture's longest IPv4 entry is /25: a /16 database network answers with scope 25 (an entry that
        // long elsewhere could answer otherwise), never longer than the source.
        let r = try F.ask(snap, client: "192.0.2.200", ecs: ("100.65.7.0", 24))
        #expect(r.1 == ["192.0.2.2"] && r.2 == 24)
        // Without hand-written entries, the database's prefix is the scope.
        let plain = try SnapshotBuilder().build(zones: [F.zone()], gslb: GSLBState(
            config: GSLBConfig(sites: F.sites, pools: [Pool(name: "www.gslb.test.", policy: .closest, members: F.members())], geoip: Self.geoip),
            geo: GeoDatabaseRef(Self.db)), now: 1000)
        #expect(try F.ask(plain, client: "192.0.2.200", ecs: ("100.65.7.0", 24)).2 == 16)
        #expect(try F.ask(plain, client: "192.0.2.200", ecs: ("100.67.0.0", 24)).2 == 20)
        #expect(try F.ask(plain, client: "192.0.2.200", ecs: ("100.67.0.0", 18)).2 == 18)
        // Without ECS: no option, and the answer is the database's.
        #expect(try F.ask(plain, client: "100.65.7.7").1 == ["192.0.2.2"])
    }

    @Test func withoutAnOpenDatabaseTheGeoIPSectionIsNotUsed() throws {
        let snap = try SnapshotBuilder().build(zones: [F.zone()], gslb: GSLBState(
            config: GSLBConfig(sites: F.sites, pools: [Pool(name: "www.gslb.test.", policy: .closest, members: F.members())], geoip: Self.geoip)),
            now: 1000)
        #expect(try F.ask(snap, client: "100.65.1.1").1 == ["192.0.2.1"])
    }

    @Test func explainShowsTheRecordAndWhatItMappedTo() throws {
        let snap = try Self.snapshot()
        let e = snap.explain(name: try DomainName("www.gslb.test."), type: .a, client: ClientAddress(text: "100.64.3.4")!, ecs: nil)
        let g = try #require(e.geoip)
        #expect(g.network == "100.64.0.0/16" && g.continent == "EU" && g.country == "DE" && g.subdivision == "DE-BY" && g.used)
        #expect(g.location == GeoPoint(lat: 48.14, lon: 11.58))
        #expect(e.topologyMatch == "geoip country DE → site fra (prefix /16)")
        #expect(e.text.contains("geoip: 100.64.0.0/16 continent=EU country=DE subdivision=DE-BY location=48.14,11.58  [fake.mmdb: test]"))
        let nz = snap.explain(name: try DomainName("www.gslb.test."), type: .a, client: ClientAddress(text: "100.67.0.1")!, ecs: nil)
        #expect(nz.topologyMatch == "geoip location -36.85,174.76 (no map entry; nearest first) (prefix /20)")
        #expect(nz.members.first { $0.chosen }?.site == "sin")
        #expect(nz.members.allSatisfy { $0.distanceKm != nil })
    }

    @Test func theValidatorNamesEveryBadMapEntry() {
        let c = GSLBConfig(sites: F.sites, geoip: GeoIPConfig(database: "", map: [
            GeoIPMapEntry(continent: "XX", region: "eu"),
            GeoIPMapEntry(country: "de", site: "fra"),
            GeoIPMapEntry(subdivision: "US_CA", site: "fra"),
            GeoIPMapEntry(country: "DE", site: "moon"),
            GeoIPMapEntry(country: "DE", region: "eu"),
            GeoIPMapEntry(region: "eu"),
            GeoIPMapEntry(country: "FR", region: "mars", site: "fra"),
        ]))
        let issues = ConfigValidator.validate(c, zones: [], staticData: { _ in nil }).map(\.description)
        #expect(issues.contains("geoip.database: must not be empty"))
        #expect(issues.contains { $0.hasPrefix("geoip.map[0].continent: unknown continent \"XX\"") })
        #expect(issues.contains { $0.hasPrefix("geoip.map[1].country: \"de\" is not an ISO 3166-1 alpha-2 code") })
        #expect(issues.contains { $0.hasPrefix("geoip.map[2].subdivision: \"US_CA\" is not an ISO 3166-2 code") })
        #expect(issues.contains("geoip.map[3].site: unknown site \"moon\""))
        #expect(issues.contains("geoip.map[4]: duplicate country DE (also geoip.map[3])"))
        #expect(issues.contains("geoip.map[5]: needs one of continent, country or subdivision"))
        #expect(issues.contains("geoip.map[6]: needs exactly one of region, site or location, got region and site"))
        #expect(issues.contains("geoip.map[6].region: no site has region \"mars\""))
        let big = GSLBConfig(sites: F.sites, geoip: GeoIPConfig(database: "x.mmdb", map: Array(repeating: GeoIPMapEntry(country: "DE", site: "fra"),
                                                                                                  count: GeoIPConfig.maxMapEntries + 1)))
        #expect(ConfigValidator.validate(big, zones: [], staticData: { _ in nil }).map(\.description)
                == ["geoip.map: 10001 entries; at most 10000"])
    }
}
