import DNSWire
import GSLBCore
import Testing

/// An API write validates what it changed and what refers to it (`ConfigValidator.newIssues`),
/// not the whole configuration twice; it must find exactly what validating the whole configuration
/// before and after, and keeping the issues that are new, finds: same places, same words, same order.
@Suite struct ScopedValidationTests {
    typealias Z = ExampleZone

    static func member(_ site: String, _ address: String, monitor: String? = nil) -> Member {
        Member(site: site, address: address, monitor: monitor)
    }

    /// Valid against zones/example.com.zone but for `status.example.com.` (static A data: an issue the
    /// stored config already has, as after a zone change).
    static let base = GSLBConfig(
        sites: [Site(name: "fra", region: "eu"), Site(name: "ams", region: "eu"), Site(name: "iad", region: "us"),
                Site(name: "sin", region: "ap"), Site(name: "lhr", region: "eu")],
        pools: [
            Pool(name: "www.example.com.", monitor: "web", members: [member("fra", "192.0.2.1"), member("ams", "192.0.2.2", monitor: "ping")]),
            Pool(name: "www.example.com.", type: "AAAA", members: [member("fra", "2001:db8::1")]),
            Pool(name: "api.example.com.", fallback: .pool("www.example.com."), members: [member("iad", "192.0.2.3")]),
            Pool(name: "b.example.com.", fallback: .pool("c.example.com."), members: [member("fra", "192.0.2.4")]),
            Pool(name: "c.example.com.", fallback: .none, members: [member("fra", "192.0.2.5")]),
            Pool(name: "d.example.com.", fallback: .pool("b.example.com."), members: [member("ams", "192.0.2.6")]),
            Pool(name: "status.example.com.", members: [member("fra", "192.0.2.7")]),
            Pool(name: "six.example.com.", type: "AAAA", members: [member("ams", "2001:db8::6")]),
        ],
        monitors: [Monitor(name: "web", type: .tcp, port: 80), Monitor(name: "ping", type: .tcp, port: 443),
                   Monitor(name: "spare", type: .tcp, port: 22)],
        topology: [TopologyEntry(network: "192.0.2.0/24", region: "eu"), TopologyEntry(network: "198.51.100.0/24", region: "us"),
                   TopologyEntry(network: "203.0.113.0/24", site: "sin"), TopologyEntry(network: "2001:db8::/32", region: "ap"),
                   TopologyEntry(network: "10.0.0.0/8", location: GeoPoint(lat: 1, lon: 2))])

    /// Whole configuration before and after, issues whose message the stored config did not have.
    static func wholeTwice(_ before: GSLBConfig, _ after: GSLBConfig) -> [ConfigIssue] {
        func check(_ c: GSLBConfig) -> [ConfigIssue] {
            ConfigValidator.validate(c, zones: Z.zones, staticData: Z.staticData, occluded: Z.occluded, limits: .unlimited)
        }
        let old = Set(check(before).map(\.message))
        return check(after).filter { !old.contains($0.message) }
    }

    static func scoped(_ before: GSLBConfig, _ after: GSLBConfig) -> [ConfigIssue] {
        ConfigValidator.newIssues(before: before, after: after, zones: Z.zones, staticData: Z.staticData, occluded: Z.occluded)
    }

    static func pool(_ c: GSLBConfig, _ name: String, _ type: String = "A") -> Int {
        c.pools.firstIndex { $0.name == name && $0.type == type }!
    }

    /// Writes as the API makes them (append, replace, remove one object, or the whole topology), and
    /// whether they break something.
    static let writes: [(String, Bool, @Sendable (inout GSLBConfig) -> Void)] = [
        ("site added", false, { $0.sites.append(Site(name: "par", region: "eu")) }),
        ("site added twice", true, { $0.sites.append(Site(name: "fra")) }),
        ("site with a bad region and location", true, { $0.sites.append(Site(name: "x", region: "bad region", location: GeoPoint(lat: 99, lon: 0))) }),
        ("site changes to a region topology does not use", true, { $0.sites[2].region = "na" }),
        ("site changes from a region other sites have too", false, { $0.sites[4].region = "us" }),
        ("site changes from a region only it had", true, { $0.sites[3].region = "eu" }),
        ("site used by members removed", true, { $0.sites.remove(at: 0) }),
        ("site used by topology removed", true, { $0.sites.remove(at: 3) }),
        ("site with the only region removed", true, { $0.sites.remove(at: 2) }),
        ("unused site removed", false, { $0.sites.remove(at: 4) }),
        ("monitor added", false, { $0.monitors.append(Monitor(name: "new", type: .tcp, port: 8080)) }),
        ("monitor with a timeout too long", true, { $0.monitors.append(Monitor(name: "slow", type: .tcp, port: 1, intervalMs: 1000, timeoutMs: 2000)) }),
        ("monitor added twice", true, { $0.monitors.append(Monitor(name: "web", type: .tcp, port: 81)) }),
        ("monitor changed", false, { $0.monitors[0].port = 8080 }),
        ("monitor changed badly", true, { $0.monitors[0].port = 0 }),
        ("monitor used by a pool removed", true, { $0.monitors.remove(at: 0) }),
        ("monitor used by a member removed", true, { $0.monitors.remove(at: 1) }),
        ("unused monitor removed", false, { $0.monitors.remove(at: 2) }),
        ("pool added", false, { $0.pools.append(Pool(name: "new.example.com.", members: [member("fra", "192.0.2.9")])) }),
        ("pool added twice (another case)", true, { $0.pools.append(Pool(name: "WWW.example.com.", members: [member("fra", "192.0.2.9")])) }),
        ("pool added with a fallback to nothing", true, { $0.pools.append(Pool(name: "e.example.com.", fallback: .pool("none.example.com."), members: [member("fra", "192.0.2.9")])) }),
        ("pool added with a fallback of the wrong type", true, { $0.pools.append(Pool(name: "e.example.com.", fallback: .pool("six.example.com."), members: [member("fra", "192.0.2.9")])) }),
        ("pool added with a fallback to itself", true, { $0.pools.append(Pool(name: "e.example.com.", fallback: .pool("e.example.com."), members: [member("fra", "192.0.2.9")])) }),
        ("pool added falling back to a chain", false, { $0.pools.append(Pool(name: "e.example.com.", fallback: .pool("d.example.com."), members: [member("fra", "192.0.2.9")])) }),
        ("pool added where a delegation is", true, { $0.pools.append(Pool(name: "x.dev.example.com.", members: [member("fra", "192.0.2.9")])) }),
        ("pool added at a CNAME", true, { $0.pools.append(Pool(name: "mail.example.com.", members: [member("fra", "192.0.2.9")])) }),
        ("pool added outside the zones", true, { $0.pools.append(Pool(name: "www.example.org.", members: [member("fra", "192.0.2.9")])) }),
        ("pool added with every member problem", true, { $0.pools.append(Pool(name: "e.example.com.", ttl: 0, members: [
            member("mars", "192.0.2.300"), Member(site: "fra", address: "192.0.2.9", weight: -1, monitor: "nope"), member("fra", "192.0.2.9")])) }),
        ("fallback changed to close a cycle", true, { $0.pools[pool($0, "c.example.com.")].fallback = .pool("d.example.com.") }),
        ("fallback changed to close a two-pool cycle", true, { $0.pools[pool($0, "c.example.com.")].fallback = .pool("b.example.com.") }),
        ("pool that others fall back to removed", true, { $0.pools.remove(at: pool($0, "c.example.com.")) }),
        ("pool of a name others fall back to removed", true, { $0.pools.remove(at: pool($0, "www.example.com.")) }),
        ("pool of the other type of that name removed", false, { $0.pools.remove(at: pool($0, "www.example.com.", "AAAA")) }),
        ("pool renamed under a referrer", true, { $0.pools[pool($0, "b.example.com.")].name = "bb.example.com." }),
        ("pool changes type under a referrer", true, { $0.pools[pool($0, "www.example.com.")].type = "AAAA" }),
        ("pool's ttl changed", false, { $0.pools[pool($0, "api.example.com.")].ttl = 60 }),
        ("pool's ttl changed badly", true, { $0.pools[pool($0, "api.example.com.")].ttl = 0 }),
        ("member added", false, { $0.pools[0].members.append(member("iad", "192.0.2.30")) }),
        ("member added twice", true, { $0.pools[0].members.append(member("iad", "192.0.2.1")) }),
        ("member at an unknown site", true, { $0.pools[0].members.append(member("mars", "192.0.2.31")) }),
        ("member's weight changed", false, { $0.pools[0].members[1].weight = 50 }),
        ("member's weight changed badly", true, { $0.pools[0].members[1].weight = -1 }),
        ("member's probe port changed badly", true, { $0.pools[0].members[0].probe = ProbeTarget(address: nil, port: 70000) }),
        ("member removed", false, { $0.pools[0].members.remove(at: 1) }),
        ("member of a pool that already conflicts changed", false, { $0.pools[pool($0, "status.example.com.")].members[0].weight = 10 }),
        ("member of a pool that already conflicts changed badly", true, { $0.pools[pool($0, "status.example.com.")].members[0].weight = -2 }),
        ("topology entry added", false, { $0.topology.append(TopologyEntry(network: "172.16.0.0/12", site: "fra")) }),
        ("topology entry added twice, written otherwise", true, { $0.topology.append(TopologyEntry(network: "2001:0db8::/32", site: "fra")) }),
        ("topology entry with host bits", true, { $0.topology.append(TopologyEntry(network: "203.0.113.1/24", site: "fra")) }),
        ("topology entry with two targets", true, { $0.topology.append(TopologyEntry(network: "172.16.0.0/12", region: "eu", site: "fra")) }),
        ("topology entry for an unknown region", true, { $0.topology.append(TopologyEntry(network: "172.16.0.0/12", region: "moon")) }),
        ("topology replaced", true, { $0.topology = [TopologyEntry(network: "10.0.0.0/8", site: "iad"), TopologyEntry(network: "bad"),
                                                     TopologyEntry(network: "10.0.0.0/8", site: "fra")] }),
        ("topology entry removed", false, { $0.topology.remove(at: 1) }),
        ("nothing changed", false, { _ in }),
    ]

    @Test func everyWriteFindsWhatValidatingTheWholeConfigurationTwiceFinds() {
        #expect(Self.wholeTwice(GSLBConfig(), Self.base).map(\.description)
                    == ["pools[6].name: conflicts with static data: status.example.com. has A records in the zone"])
        for (what, breaks, change) in Self.writes {
            var after = Self.base
            change(&after)
            let expected = Self.wholeTwice(Self.base, after)
            #expect(!expected.isEmpty == breaks, "\(what): \(expected)")
            #expect(Self.scoped(Self.base, after) == expected, "\(what)")
        }
    }

    @Test func aWriteLooksAtTheObjectItChangesAndWhatRefersToIt() {
        var after = Self.base
        after.pools[0].members[1].weight = 50
        #expect(ConfigValidator.Scope.changes(from: Self.base, to: after) == ConfigValidator.Scope(pools: ["www.example.com."]))
        after = Self.base
        after.sites.remove(at: 3)   // sin: named by a topology entry, its region ap by another
        #expect(ConfigValidator.Scope.changes(from: Self.base, to: after)
                    == ConfigValidator.Scope(sites: ["sin"], topology: ["203.0.113.0/24", "2001:db8::/32"]))
        after = Self.base
        after.monitors.remove(at: 1)
        #expect(ConfigValidator.Scope.changes(from: Self.base, to: after)
                    == ConfigValidator.Scope(pools: ["www.example.com."], monitors: ["ping"]))
        after = Self.base
        after.pools.remove(at: Self.pool(after, "c.example.com."))
        #expect(ConfigValidator.Scope.changes(from: Self.base, to: after)
                    == ConfigValidator.Scope(pools: ["c.example.com.", "b.example.com."]))
        // A weight in a large configuration: one pool is looked at.
        var large = Self.base
        for i in 0..<2000 {
            large.pools.append(Pool(name: "p\(i).example.com.", members: (1...5).map { Self.member("fra", "198.51.100.\($0 + i % 200)") }))
        }
        var changed = large
        changed.pools[1500].members[2].weight = 7
        #expect(ConfigValidator.Scope.changes(from: large, to: changed) == ConfigValidator.Scope(pools: ["p1492.example.com."]))
        #expect(Self.scoped(large, changed).isEmpty)
        changed.pools[1500].members[2].weight = -7
        #expect(Self.scoped(large, changed).map(\.description) == ["pools[1500].members[2].weight: -7 must be ≥ 0"])
        #expect(Self.scoped(large, changed) == Self.wholeTwice(large, changed))
    }

    /// One random write at a time (seeded), of every kind, with names and values drawn from small sets
    /// so that they collide with what exists: the two ways agree on every one.
    @Test func randomWritesFindWhatValidatingTheWholeConfigurationTwiceFinds() {
        var seed: UInt64 = 0x5EED
        func next(_ n: Int) -> Int {
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
        let siteNames = ["fra", "ams", "iad", "sin", "lhr", "par", ""]
        let regions: [String?] = ["eu", "us", "ap", "na", nil, "bad region"]
        let poolNames = ["www.example.com.", "WWW.example.com.", "api.example.com.", "b.example.com.", "c.example.com.",
                         "d.example.com.", "status.example.com.", "six.example.com.", "e.example.com.", "mail.example.com.",
                         "x.dev.example.com.", "www.example.org.", "bad..example.com."]
        let fallbacks: [Fallback] = [.all, .none, .servfail] + poolNames.map { .pool($0) } + [.pool("nowhere.example.com.")]
        let monitors = ["web", "ping", "spare", "nope", nil]
        let networks = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "2001:0db8::/32", "10.0.0.0/8",
                        "10.0.0.1/8", "bad", "172.16.0.0/12"]
        let addresses = ["192.0.2.1", "192.0.2.2", "192.0.2.99", "2001:db8::1", "2001:db8::99", "300.1.1.1"]
        func member() -> Member {
            Member(site: siteNames[next(siteNames.count)], address: addresses[next(addresses.count)],
                   weight: [100, 0, -1][next(3)], monitor: monitors[next(monitors.count)])
        }
        func pool() -> Pool {
            Pool(name: poolNames[next(poolNames.count)], type: ["A", "AAAA", "MX"][next(3)], ttl: [30, 0][next(2)],
                 fallback: fallbacks[next(fallbacks.count)], monitor: monitors[next(monitors.count)],
                 members: (0..<next(3)).map { _ in member() })
        }
        func entry() -> TopologyEntry {
            switch next(4) {
            case 0: return TopologyEntry(network: networks[next(networks.count)], region: regions[next(regions.count)] ?? "eu")
            case 1: return TopologyEntry(network: networks[next(networks.count)], site: siteNames[next(siteNames.count)])
            case 2: return TopologyEntry(network: networks[next(networks.count)], location: GeoPoint(lat: 1, lon: 2))
            default: return TopologyEntry(network: networks[next(networks.count)])
            }
        }
        var broke = 0
        for round in 0..<600 {
            var after = Self.base
            switch next(12) {
            case 0: after.sites.append(Site(name: siteNames[next(siteNames.count)], region: regions[next(regions.count)]))
            case 1: after.sites.remove(at: next(after.sites.count))
            case 2: after.sites[next(after.sites.count)].region = regions[next(regions.count)]
            case 3: after.pools.append(pool())
            case 4: after.pools.remove(at: next(after.pools.count))
            case 5: after.pools[next(after.pools.count)] = pool()
            case 6: after.pools[next(after.pools.count)].fallback = fallbacks[next(fallbacks.count)]
            case 7:
                let i = next(after.pools.count)
                if after.pools[i].members.isEmpty || next(2) == 0 { after.pools[i].members.append(member()) } else {
                    after.pools[i].members[next(after.pools[i].members.count)] = member()
                }
            case 8: after.monitors.append(Monitor(name: monitors[next(monitors.count)] ?? "", type: .tcp, port: [80, 0, nil][next(3)]))
            case 9: after.monitors.remove(at: next(after.monitors.count))
            case 10: after.topology.append(entry())
            default:
                if next(2) == 0 { after.topology.remove(at: next(after.topology.count)) } else { after.topology[next(after.topology.count)] = entry() }
            }
            let expected = Self.wholeTwice(Self.base, after)
            if !expected.isEmpty { broke += 1 }
            #expect(Self.scoped(Self.base, after) == expected, "round \(round): \(after)")
        }
        #expect(broke > 200)
    }
}
