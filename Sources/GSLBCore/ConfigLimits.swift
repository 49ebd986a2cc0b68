/// How large a configuration may grow: every collection has a cap, so that no write (an API body, an
/// apply file) can make the server allocate or validate without bound (docs/security.md). The defaults
/// leave room for the large configurations Cairn is built for (10,000 pools with 50,000 members and 5,000
/// topology entries) and each is a flag of `cairn serve` (what the API accepts) and of `cairn apply`.
public struct ConfigLimits: Hashable, Sendable {
    public var sites: Int
    public var monitors: Int
    public var pools: Int
    public var membersPerPool: Int
    /// Members of all pools together.
    public var members: Int
    public var topologyEntries: Int

    public static let defaults = ConfigLimits()
    /// No cap: for callers that check growth themselves (the API, with `growthIssue`).
    public static let unlimited = ConfigLimits(sites: .max, monitors: .max, pools: .max, membersPerPool: .max,
                                               members: .max, topologyEntries: .max)

    public init(sites: Int = 1_000, monitors: Int = 1_000, pools: Int = 20_000, membersPerPool: Int = 1_000,
                members: Int = 100_000, topologyEntries: Int = 50_000) {
        self.sites = sites; self.monitors = monitors; self.pools = pools; self.membersPerPool = membersPerPool
        self.members = members; self.topologyEntries = topologyEntries
    }

    /// One cap: its field (the path of the collection), its value and the flag that sets it.
    struct Cap {
        let path: String
        let limit: Int
        let flag: String
        let noun: String
        func issue(_ n: Int) -> ConfigIssue { ConfigIssue(path: path, message: "\(n) \(noun); at most \(limit) (\(flag))") }
    }

    var caps: [Cap] {
        [Cap(path: "sites", limit: sites, flag: "--max-sites", noun: "sites"),
         Cap(path: "monitors", limit: monitors, flag: "--max-monitors", noun: "monitors"),
         Cap(path: "pools", limit: pools, flag: "--max-pools", noun: "pools"),
         Cap(path: "pools", limit: members, flag: "--max-members", noun: "members in all pools"),
         Cap(path: "topology", limit: topologyEntries, flag: "--max-topology-entries", noun: "topology entries")]
    }

    func counts(_ c: GSLBConfig) -> [Int] {
        [c.sites.count, c.monitors.count, c.pools.count, c.pools.reduce(0) { $0 + $1.members.count }, c.topology.count]
    }

    /// Every cap `config` exceeds, as issues with their place (`pools`, `pools[3].members`).
    public func issues(_ config: GSLBConfig) -> [ConfigIssue] {
        var out = zip(caps, counts(config)).filter { cap, n in n > cap.limit }.map { cap, n in cap.issue(n) }
        for (i, p) in config.pools.enumerated() where p.members.count > membersPerPool {
            out.append(Self.membersIssue(path: "pools[\(i)].members", count: p.members.count, limit: membersPerPool))
        }
        return out
    }

    /// The first cap a change makes `after` exceed while growing past `before` (a configuration already over
    /// a cap, from a file applied with larger limits, may still shrink or change in place): nil when none.
    public func growthIssue(before: GSLBConfig, after: GSLBConfig) -> ConfigIssue? {
        for (cap, (old, new)) in zip(caps, zip(counts(before), counts(after))) where new > cap.limit && new > old {
            return cap.issue(new)
        }
        let old = Dictionary(before.pools.map { ("\($0.name)/\($0.type)", $0.members.count) }, uniquingKeysWith: { a, _ in a })
        for (i, p) in after.pools.enumerated() where p.members.count > membersPerPool
            && p.members.count > old["\(p.name)/\(p.type)", default: 0] {
            return Self.membersIssue(path: "pools[\(i)].members", count: p.members.count, limit: membersPerPool)
        }
        return nil
    }

    public static func membersIssue(path: String, count: Int, limit: Int) -> ConfigIssue {
        ConfigIssue(path: path, message: "\(count) members; a pool has at most \(limit) (--max-members-per-pool)")
    }
}
