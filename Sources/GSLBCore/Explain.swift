import DNSWire

/// Why a client gets the answer it gets: the data behind `cairn explain` and the API's explain endpoint.
public struct Explanation: Sendable, Codable {
    public struct MemberLine: Sendable, Codable {
        public var address: String
        public var site: String
        public var region: String?
        public var admin: String
        public var weight: Int
        public var priority: Int
        public var real: String
        public var realStale: Bool
        public var forced: String?
        public var forcedBy: String?
        /// The id of the override in force, and the drill that set it (null when none or not a drill).
        public var forcedOverride: Int64?
        public var forcedDrill: String?
        public var effective: String
        public var distanceKm: Double?
        public var eligible: Bool
        public var chosen: Bool
        /// Why chosen or skipped.
        public var why: String
        /// With several live nodes: the rule `real` was agreed by, and each node's own verdict.
        public var quorum: String?
        public var nodes: [NodeVerdict]?

        /// snake_case as every other API document (until 2026-12-05: `realStale`, `forcedBy`, `distanceKm`).
        enum CodingKeys: String, CodingKey {
            case address, site, region, admin, weight, priority, real, realStale = "real_stale", forced
            case forcedBy = "forced_by", forcedOverride = "forced_override", forcedDrill = "forced_drill", effective, distanceKm = "distance_km", eligible, chosen, why, quorum, nodes
        }
    }
    /// One node's own verdict on a member (health quorum).
    public struct NodeVerdict: Sendable, Codable, Hashable {
        public var node: String
        public var state: String
    }
    public var name: String
    public var type: String
    public var pool: String?
    public var policy: String?
    /// The client network the decision used: `192.0.2.7` or `203.0.113.0/24 (ECS)`.
    public var client: String
    public var topologyMatch: String?
    /// The GeoIP record of the client network, when the configuration has a database and the client is known.
    public var geoip: GeoIPLine?
    public var members: [MemberLine]
    public var answer: [String]
    public var ttl: Int?
    public var ecsScope: Int?
    public var fallback: Bool
    public var rcode: String
    public var note: String?

    /// snake_case as every other API document (until 2026-12-05: `topologyMatch`, `ecsScope`).
    enum CodingKeys: String, CodingKey {
        case name, type, pool, policy, client, topologyMatch = "topology_match", geoip, members, answer, ttl
        case ecsScope = "ecs_scope", fallback, rcode, note
    }

    /// What the GeoIP database says about the client network (`geoip` of the explain document).
    public struct GeoIPLine: Sendable, Codable, Hashable {
        /// The database file and its type and build time.
        public var database: String
        /// The database network holding the client (`81.2.69.0/24`).
        public var network: String
        public var found: Bool
        public var continent: String?
        public var country: String?
        /// ISO 3166-2 (`GB-ENG`).
        public var subdivision: String?
        public var location: GeoPoint?
        /// Whether it decided: a topology entry matched first (false), or it did (true).
        public var used: Bool

        public var text: String {
            var s = "\(network)"
            if !found { s += " not in the database" }
            if let c = continent { s += " continent=\(c)" }
            if let c = country { s += " country=\(c)" }
            if let c = subdivision { s += " subdivision=\(c)" }
            if let l = location { s += " location=\(l.lat),\(l.lon)" }
            return s + (used ? "" : " (not used: a topology entry matched)") + "  [\(database)]"
        }
    }

    /// Human text, one fact per line.
    public var text: String {
        var s = "name: \(name) \(type)\n"
        guard let pool, let policy else { return s + "no pool: \(note ?? "static data answers")\n" }
        s += "pool: \(pool)  policy: \(policy)  ttl: \(ttl.map(String.init) ?? "-")\n"
        s += "client: \(client)\n"
        if let g = geoip { s += "geoip: \(g.text)\n" }
        s += "topology: \(topologyMatch ?? "no match (default order)")\n"
        s += "members:\n"
        for m in members {
            var line = "  \(m.chosen ? "*" : " ") \(m.address) site=\(m.site)"
            if let r = m.region { line += " region=\(r)" }
            line += " admin=\(m.admin) weight=\(m.weight) priority=\(m.priority) real=\(m.real)\(m.realStale ? "(stale)" : "")"
            line += " forced=\(m.forced ?? "-")"
            if m.forced != nil, let by = MemberView.forcedByText(m.forcedBy, override: m.forcedOverride, drill: m.forcedDrill) {
                line += " by \(by)"
            }
            line += " effective=\(m.effective)"
            if let d = m.distanceKm { line += " distance=\(Int(d.rounded()))km" }
            if let q = m.quorum, let n = m.nodes {
                line += " quorum=\(q)(\(n.map { "\($0.node):\($0.state)" }.joined(separator: ",")))"
            }
            line += "  — \(m.why)"
            s += line + "\n"
        }
        s += "answer: \(rcode) \(answer.isEmpty ? "(no data)" : answer.joined(separator: " "))\(fallback ? "  [fallback]" : "")\n"
        s += "ecs scope: \(ecsScope.map(String.init) ?? "-")\n"
        return s
    }
}

extension ServingSnapshot {
    /// Explains the decision for `name`/`type` asked by `client` (optionally with an ECS subnet).
    public func explain(name: DomainName, type: RecordType, client: ClientAddress, ecs: CIDR?) -> Explanation {
        // A CNAME pool answers every type at its name, as a static CNAME does.
        guard let pool = pool(name: name, type: type) ?? pool(name: name, type: .cname) else {
            return Explanation(name: name.description, type: type.description, pool: nil, policy: nil, client: client.description,
                               topologyMatch: nil, geoip: nil, members: [], answer: [], ttl: nil, ecsScope: nil, fallback: false,
                               rcode: "-", note: pools.contains { $0.name == name } ? "no \(type) pool at this name" : "no pool at this name")
        }
        var e = pool.explain(client: client, ecs: ecs)
        let verdicts = quorumVerdicts()
        for i in e.members.indices {
            guard let v = verdicts[MemberKey(pool: pool.pool.name, address: e.members[i].address)] else { continue }
            e.members[i].quorum = v.rule.rawValue
            e.members[i].nodes = v.nodes
        }
        return e
    }

    /// With several live nodes: per monitored member, the quorum rule and each node's verdict that counted.
    public func quorumVerdicts() -> [MemberKey: (rule: HealthQuorum, nodes: [Explanation.NodeVerdict])] {
        guard gslb.quorumNodes.count > 1 else { return [:] }
        var rules: [MemberKey: HealthQuorum] = [:]
        gslb.config.forEachMonitoredMember { p, m, monitor in
            rules[MemberKey(pool: p.name, address: m.address)] = monitor.quorum ?? .default(liveNodes: gslb.quorumNodes.count)
        }
        var out: [MemberKey: (rule: HealthQuorum, nodes: [Explanation.NodeVerdict])] = [:]
        for o in gslb.observations {
            guard let rule = rules[o.key] else { continue }
            out[o.key, default: (rule, [])].nodes.append(Explanation.NodeVerdict(node: o.node, state: o.state.rawValue))
        }
        return out
    }
}

extension PoolRuntime {
    public func explain(client: ClientAddress, ecs: CIDR?) -> Explanation {
        var net: ClientNetwork?
        if pool.ecs, let e = ecs { net = ClientNetwork(address: e.address, prefix: e.prefix, fromECS: true) } else if client.family != 0 {
            net = ClientNetwork(address: client, prefix: client.maxPrefix, fromECS: false)
        }
        var rng = SplitMix64(seed: 1)
        var counter: UInt64 = 0
        let d = select(client: net, rng: &rng, counter: &counter)
        let chosen = Set(d.records.map { $0.rdata })
        var match: String?
        var origin: GeoPoint?
        /// What a topology or GeoIP map entry maps to, in words, and the point distances are measured from.
        func place(_ e: TopologyEntry) -> String {
            origin = e.location
            if let s = e.site { origin = sites[s]?.location }
            if let r = e.region { origin = PoolRuntime.regionCentroids(sites)[r] }
            return e.site.map { "site \($0)" } ?? e.region.map { "region \($0)" } ?? e.location.map { "location \($0.lat),\($0.lon)" } ?? "-"
        }
        if let n = net, let m = topology.match(n) {
            let e = topology.entries[m.index]
            match = "\(e.network) → \(place(e)) (prefix /\(m.prefix))"
        }
        var geoLine: Explanation.GeoIPLine?
        if let n = net, let g = topology.geo {
            let r = g.database.lookup(n.address.masked(n.prefix))
            let used = match == nil
            geoLine = Explanation.GeoIPLine(database: g.database.summary, network: CIDR(address: n.address, prefix: min(r.prefix, n.address.maxPrefix)).description,
                                            found: r.found, continent: r.continentCode, country: r.countryCode,
                                            subdivision: r.subdivisionCode, location: r.location, used: used)
            if used {
                let scope = " (prefix /\(r.prefix))"
                if let i = g.match(r) {
                    match = "geoip \(g.map[i].place) → \(place(g.map[i].asTopologyEntry))\(scope)"
                } else if r.found, let l = r.location {
                    match = "geoip location \(l.lat),\(l.lon) (no map entry; nearest first)\(scope)"
                    origin = l
                }
            }
        }
        let lines = members.map { v -> Explanation.MemberLine in
            let picked = chosen.contains(pool.isCNAME ? (try? DomainName(v.member.address))?.wire ?? [] : v.address.bytes)
            let why = picked ? (d.fallback ? "chosen by fallback \(pool.fallback)" : "chosen by \(pool.policy.rawValue)")
                : v.reason.map { "skipped: \($0)" } ?? "healthy, not chosen (\(pool.policy.rawValue), answers \(pool.answers))"
            let dist = origin.flatMap { o in v.site?.location.map { greatCircleKm(o, $0) } }
            return Explanation.MemberLine(address: v.member.address, site: v.member.site, region: v.site?.region,
                                          admin: v.member.state.rawValue, weight: v.member.weight, priority: v.member.priority,
                                          real: v.real.rawValue, realStale: v.realStale, forced: v.forced?.rawValue, forcedBy: v.forcedBy,
                                          forcedOverride: v.forcedOverride, forcedDrill: v.forcedDrill,
                                          effective: v.effective, distanceKm: dist, eligible: v.eligible, chosen: picked, why: why)
        }
        let answer = d.records.map { RDataText.format(type: type, rdata: $0.rdata) }
        let scope = net?.fromECS == true ? d.scope : (ecs != nil ? 0 : nil)
        var note: String? = (pool.policy == .weighted || pool.policy == .roundRobin) ? "\(pool.policy.rawValue): the pick varies per query; one sample shown" : nil
        if pool.isCNAME {
            let chase = "a CNAME pool: the answer is a CNAME to the chosen target, followed inside Cairn's zones as a static CNAME is"
            note = note.map { "\($0); \(chase)" } ?? chase
        }
        return Explanation(name: name.description, type: type.description, pool: pool.name, policy: pool.policy.rawValue,
                           client: net?.description ?? "unknown", topologyMatch: match, geoip: geoLine, members: lines, answer: answer,
                           ttl: pool.ttl, ecsScope: scope, fallback: d.fallback, rcode: d.servfail ? "SERVFAIL" : "NOERROR", note: note)
    }
}
