// The GSLB layer of the fuzz snapshot: sites, pools of every policy, health, overrides and a
// topology, so that queries (with and without ECS) reach pool selection. Built once, in code.

import DNSWire
import GSLBCore

enum FuzzPools {
    static let sites = [
        Site(name: "fra", region: "eu", location: GeoPoint(lat: 50.11, lon: 8.68), capacity: 1000, load: 300),
        Site(name: "ams", region: "eu", location: GeoPoint(lat: 52.37, lon: 4.90), capacity: 1000),
        Site(name: "iad", region: "us", location: GeoPoint(lat: 38.95, lon: -77.45), capacity: 500, load: 450),
        Site(name: "sin", region: "ap", location: GeoPoint(lat: 1.35, lon: 103.82), capacity: 500),
        Site(name: "nowhere"),   // no region, no location
    ]

    /// IPv4 and IPv6 networks to a region, a site or a location; nested prefixes (the longest wins).
    static let topology = [
        TopologyEntry(network: "203.0.113.0/24", region: "eu"),
        TopologyEntry(network: "198.51.100.0/24", region: "us"),
        TopologyEntry(network: "198.51.100.128/25", site: "sin"),
        TopologyEntry(network: "198.51.100.192/26", region: "ap"),
        TopologyEntry(network: "10.0.0.0/8", location: GeoPoint(lat: 40.7, lon: -74.0)),
        TopologyEntry(network: "100.64.0.0/10", location: GeoPoint(lat: 48.86, lon: 2.35)),
        TopologyEntry(network: "0.0.0.0/1", region: "ap"),
        TopologyEntry(network: "2001:db8:1::/48", region: "us"),
        TopologyEntry(network: "2001:db8:1:8000::/49", site: "ams"),
        TopologyEntry(network: "2001:db8:2::/48", location: GeoPoint(lat: 1.3, lon: 103.8)),
        TopologyEntry(network: "fc00::/7", region: "eu"),
        TopologyEntry(network: "::/0", site: "nowhere"),
    ]

    static func v4(_ site: String, _ last: Int, weight: Int = 100, priority: Int = 1, state: AdminState = .enabled,
                   load: Double? = nil) -> Member {
        Member(site: site, address: "192.0.2.\(last)", weight: weight, priority: priority, state: state, load: load)
    }

    static func v6(_ site: String, _ last: Int, weight: Int = 100, priority: Int = 1, state: AdminState = .enabled) -> Member {
        Member(site: site, address: "2001:db8:ff::\(last)", weight: weight, priority: priority, state: state)
    }

    /// A mixed set: every site, priorities 1–3, weights including 0, a drained and a disabled member.
    static func mixedV4(_ base: Int) -> [Member] {
        [v4("fra", base, weight: 60, priority: 1, load: 10), v4("ams", base + 1, weight: 30, priority: 1, load: 80),
         v4("iad", base + 2, weight: 10, priority: 2), v4("sin", base + 3, weight: 0, priority: 2),
         v4("nowhere", base + 4, priority: 3), v4("fra", base + 5, state: .drain), v4("iad", base + 6, state: .disabled)]
    }

    static func mixedV6(_ base: Int) -> [Member] {
        [v6("fra", base, weight: 50), v6("ams", base + 1, priority: 2), v6("iad", base + 2, weight: 20),
         v6("sin", base + 3, priority: 3), v6("nowhere", base + 4, state: .drain)]
    }

    static let zone = "gslb.fuzz.example."

    /// Every policy for A; most for AAAA; fallbacks to all, none, servfail, another pool (and a cycle);
    /// ECS on and off; several answers; names that are new, beside static data, under a wildcard's
    /// parent, and ones the builder leaves out (a static A, below a delegation, a duplicate).
    static func pools() -> [Pool] {
        func p(_ label: String, _ type: String = "A", _ policy: PolicyKind, answers: Int = 1, ecs: Bool = true,
               fallback: Fallback = .all, _ members: [Member]) -> Pool {
            Pool(name: label.hasSuffix(".") ? label : "\(label).\(zone)", type: type, policy: policy, ttl: 30,
                 answers: answers, ecs: ecs, fallback: fallback, members: members)
        }
        var out: [Pool] = []
        for (i, k) in PolicyKind.allCases.enumerated() {
            let label = "p-" + k.rawValue
            out.append(p(label, "A", k, answers: 1 + i % 3, ecs: i % 2 == 0, mixedV4(10 + i * 10)))
            out.append(p(label, "AAAA", k, answers: 1 + (i + 1) % 3, ecs: i % 2 == 1, mixedV6(10 + i * 10)))
        }
        // Fallbacks: every member down (health below) or forced down.
        out.append(p("down-all", "A", .failover, [v4("fra", 201), v4("ams", 202)]))
        out.append(p("down-none", "A", .weighted, fallback: .none, [v4("fra", 203), v4("iad", 204)]))
        out.append(p("down-servfail", "A", .closest, fallback: .servfail, [v4("sin", 205)]))
        out.append(p("down-pool", "A", .roundRobin, fallback: .pool("p-closest.\(zone)"), [v4("iad", 206)]))
        out.append(p("down-pool", "AAAA", .failover, fallback: .pool("p-failover.\(zone)"), [v6("fra", 207)]))
        out.append(p("chain", "A", .allHealthy, fallback: .pool("down-pool.\(zone)"), [v4("ams", 208)]))
        out.append(p("cycle1", "A", .failover, fallback: .pool("cycle2.\(zone)"), [v4("fra", 209)]))
        out.append(p("cycle2", "A", .failover, fallback: .pool("cycle1"), [v4("fra", 210)]))
        out.append(p("dangling-fb", "A", .failover, fallback: .pool("nope.\(zone)"), [v4("fra", 211)]))
        out.append(p("empty", "A", .weighted, []))
        out.append(p("disabled", "A", .weighted, fallback: .all, [v4("fra", 212, state: .disabled), v4("ams", 213, weight: 0)]))
        out.append(p("forced", "A", .roundRobin, answers: 3, [v4("fra", 214), v4("ams", 215), v4("iad", 216), v4("sin", 217)]))
        // Pools among the static data of fuzz.example.
        out.append(p("txt.fuzz.example.", "A", .weighted, answers: 2, mixedV4(220)))     // beside a static TXT
        out.append(p("p.w.fuzz.example.", "A", .closest, mixedV4(230)))                  // under a wildcard's parent
        out.append(p("a.b.new.fuzz.example.", "AAAA", .consistentHash, mixedV6(240)))    // new empty non-terminals
        out.append(p("www.fuzz.example.", "A", .failover, [v4("fra", 250)]))              // static A: left out
        out.append(p("x.deleg.fuzz.example.", "A", .failover, [v4("fra", 251)]))          // below a cut: left out
        out.append(p("p-weighted", "A", .failover, [v4("fra", 252)]))                     // defined twice: left out
        out.append(p("www.elsewhere.invalid.", "A", .failover, [v4("fra", 253)]))         // outside every zone
        out.append(p("mixed-family", "A", .failover, [v4("fra", 254), v6("fra", 254)]))   // an AAAA member in an A pool
        return out
    }

    /// Health: up, down, unknown (absent), stale, with loads.
    static func health(_ pools: [Pool]) -> [MemberHealth] {
        var out: [MemberHealth] = []
        for (pi, p) in pools.enumerated() {
            for (mi, m) in p.members.enumerated() {
                let key = MemberKey(pool: p.name, address: m.address)
                let down = p.name.hasPrefix("down-") || p.name.hasPrefix("cycle") || p.name.hasPrefix("chain")
                    || p.name.hasPrefix("dangling")
                switch down ? 1 : (pi + mi) % 4 {
                case 0: out.append(MemberHealth(key: key, state: .up, since: 1, load: Double(mi * 20)))
                case 1: out.append(MemberHealth(key: key, state: .down, since: 2))
                case 2: out.append(MemberHealth(key: key, state: .up, since: 3, stale: true))
                default: break   // unknown
                }
            }
        }
        return out
    }

    static let overrides = [
        Override(scope: .site, target: "sin", state: .down, reason: "fuzz", principal: "fuzz", expiresAt: nil, createdAt: 0),
        Override(scope: .pool, target: "forced.\(zone)", state: .drain, reason: "fuzz", principal: "fuzz", expiresAt: nil, createdAt: 0),
        Override(scope: .member, target: "forced.\(zone)/192.0.2.215", state: .up, reason: "fuzz", principal: "fuzz",
                 expiresAt: nil, createdAt: 0),
        Override(scope: .member, target: "p-failover.\(zone)/192.0.2.40", state: .up, reason: "fuzz", principal: "fuzz",
                 expiresAt: nil, createdAt: 0),
        Override(scope: .site, target: "ams", state: .down, reason: "expired", principal: "fuzz", expiresAt: 10, createdAt: 0),
    ]

    static func state() -> GSLBState {
        let ps = pools()
        return GSLBState(config: GSLBConfig(sites: sites, pools: ps, topology: topology), health: health(ps),
                         overrides: overrides)
    }

    /// The names the pools answer at (with a trailing dot), for seeds and the dictionary.
    static var names: [String] { Array(Set(pools().map(\.name))).sorted() }

    /// Source addresses the engine is told a query came from, chosen by the query's second octet.
    static let clients: [ClientAddress] = [
        .unknown, ClientAddress(text: "203.0.113.7")!, ClientAddress(text: "198.51.100.200")!,
        ClientAddress(text: "198.51.100.9")!, ClientAddress(text: "10.1.2.3")!, ClientAddress(text: "192.0.2.99")!,
        ClientAddress(text: "2001:db8:1:8000::5")!, ClientAddress(text: "2001:db8:2::1")!, ClientAddress(text: "::1")!,
    ]

    /// The addresses (wire form) a pool at `owner` of `type` may answer: its members and those of
    /// the pools it falls back to; nil when no pool of that type is placed there.
    static func allowedAddresses(owner: DomainName, type: RecordType, snapshot: ServingSnapshot) -> Set<[UInt8]>? {
        guard let runtime = snapshot.pool(name: owner, type: type) else { return nil }
        let config = snapshot.gslb.config.pools
        var out: Set<[UInt8]> = []
        var seen: Set<String> = []
        var next: Pool? = runtime.pool
        while let p = next, seen.insert(p.name).inserted {
            for m in p.members { if let a = ClientAddress(text: m.address) { out.insert(a.bytes) } }
            next = nil
            if case .pool(let other) = p.fallback {
                let on = other.hasSuffix(".") ? other : other + "."
                next = config.first { $0.name == on && $0.type == p.type }
            }
        }
        return out
    }
}
