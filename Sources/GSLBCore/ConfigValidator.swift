import DNSWire

/// One problem in a GSLB configuration, named by its place in the file
/// (`pools[1].members[0].address`) so that every front end (the YAML file, the API)
/// reports it the same way.
public struct ConfigIssue: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where: `sites[0].name`, `pools[2].members[1].weight`, `monitors[0].expect_status[1]`;
    /// empty for the file as a whole (I/O and YAML syntax errors).
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Lets a list of issues be the failure of a `Result` (`Result<GSLBConfig, [ConfigIssue]>`):
/// validation never stops at the first problem, so the error is the whole list.
extension Array: @retroactive Error where Element == ConfigIssue {}

/// Checks a whole `GSLBConfig` against itself and against the served zones, and returns
/// every problem found (empty = valid). Nothing stops at the first problem.
///
/// The rules are listed, with their messages, in `docs/config-file.md`.
public enum ConfigValidator {
    /// - Parameters:
    ///   - zones: origins of the served zones; every pool must be inside one of them.
    ///   - staticData: the record types that exist at exactly that name in the static zone
    ///     data, nil when the name does not exist there.
    ///   - occluded: true when the name is at or below a zone cut (NS other than at an apex)
    ///     or strictly below a DNAME, where a pool could never be answered.
    ///   - limits: the caps on each collection (`ConfigLimits`).
    public static func validate(_ c: GSLBConfig, zones: [DomainName],
                                staticData: (DomainName) -> Set<RecordType>?,
                                occluded: (DomainName) -> Bool = { _ in false },
                                limits: ConfigLimits = .defaults) -> [ConfigIssue] {
        // Over a cap, the rest is not even looked at: its size is the problem.
        let tooLarge = limits.issues(c)
        if !tooLarge.isEmpty { return tooLarge }
        return check(c, scope: nil, zones: zones, staticData: staticData, occluded: occluded)
    }

    /// Checks only the objects of `c` that `scope` names, with the rules and words of `validate` and in its
    /// order: the issues are those `validate` finds on these objects (plus the fallback cycles through
    /// them), without looking at the rest beyond what a rule compares them with (duplicates, references).
    /// No size limits: the caller checks growth.
    public static func validate(_ c: GSLBConfig, scope: Scope, zones: [DomainName],
                                staticData: (DomainName) -> Set<RecordType>?,
                                occluded: (DomainName) -> Bool = { _ in false }) -> [ConfigIssue] {
        guard !scope.isEmpty else { return [] }
        return check(c, scope: scope, zones: zones, staticData: staticData, occluded: occluded)
    }

    /// Every rule, in order, over the whole configuration (`scope` nil) or the objects `scope` names.
    static func check(_ c: GSLBConfig, scope: Scope?, zones: [DomainName], staticData: (DomainName) -> Set<RecordType>?,
                      occluded: (DomainName) -> Bool) -> [ConfigIssue] {
        var run = Run(config: c, scope: scope)
        run.checkSites()
        run.checkPools(zones: zones, staticData: staticData, occluded: occluded)
        run.checkMonitors()
        run.checkTopology()
        run.checkGeoIP()
        return run.issues
    }

    /// What a change from `before` to `after` (an API write) may have broken: the issues `after` has on
    /// the objects the change added, removed or changed and on the objects that refer to them, that
    /// `before` did not have on the same objects (an issue the stored config already had is not the
    /// change's fault). Costs what the change touched, not the whole configuration.
    public static func newIssues(before: GSLBConfig, after: GSLBConfig, zones: [DomainName],
                                 staticData: (DomainName) -> Set<RecordType>?,
                                 occluded: (DomainName) -> Bool = { _ in false }) -> [ConfigIssue] {
        let scope = Scope.changes(from: before, to: after)
        let found = validate(after, scope: scope, zones: zones, staticData: staticData, occluded: occluded)
        guard !found.isEmpty else { return [] }
        let old = Set(validate(before, scope: scope, zones: zones, staticData: staticData, occluded: occluded).map(\.message))
        return found.filter { !old.contains($0.message) }
    }

    /// Objects of a configuration, by the names they are known by: what `validate(_:scope:...)` checks.
    public struct Scope: Hashable, Sendable {
        public var sites: Set<String>
        /// Pool names, lower-cased, with their trailing dot: every pool of that name, whatever its type.
        public var pools: Set<String>
        public var monitors: Set<String>
        /// Topology entries by their `network` text.
        public var topology: Set<String>
        /// The `geoip` section (it changed, or a site it may name did).
        public var geoip = false

        public init(sites: Set<String> = [], pools: Set<String> = [], monitors: Set<String> = [], topology: Set<String> = []) {
            self.sites = sites
            self.pools = pools.map(Scope.poolKey).reduce(into: []) { $0.insert($1) }
            self.monitors = monitors
            self.topology = topology
        }

        public var isEmpty: Bool { sites.isEmpty && pools.isEmpty && monitors.isEmpty && topology.isEmpty && !geoip }

        /// A pool name as pools are matched: lower-cased, with its trailing dot (the admin API's paths and filters too).
        public static func poolKey(_ name: String) -> String {
            let n = name.lowercased()
            return n.hasSuffix(".") ? n : n + "."
        }

        /// True when the pool `name` is in `keys`; a name whose length no key has is not lower-cased
        /// (a scan of every pool for one name allocates nothing for the others).
        static func pool(_ name: String, in keys: Set<String>, lengths: Set<Int>) -> Bool {
            let n = name.utf8.count
            guard lengths.contains(n) || lengths.contains(n + 1) else { return false }
            return keys.contains(poolKey(name))
        }

        static func lengths(_ keys: Set<String>) -> Set<Int> { Set(keys.map(\.utf8.count)) }

        /// The objects that differ between `before` and `after` (added, removed or changed), and the ones that
        /// refer to them in a way the change can break: members and topology entries naming a removed site,
        /// topology entries naming a region no longer given by the changed site, pools and members naming a
        /// removed monitor, pools falling back to a name whose pools were added, removed or changed type.
        public static func changes(from before: GSLBConfig, to after: GSLBConfig) -> Scope {
            var scope = Scope()
            let (s0, s1) = differing(before.sites, after.sites)
            scope.sites = Set(s0.map(\.name) + s1.map(\.name))
            let (p0, p1) = differing(before.pools, after.pools)
            scope.pools = Set(p0.map { poolKey($0.name) } + p1.map { poolKey($0.name) })
            let (m0, m1) = differing(before.monitors, after.monitors)
            scope.monitors = Set(m0.map(\.name) + m1.map(\.name))
            let (t0, t1) = differing(before.topology, after.topology)
            scope.topology = Set(t0.map(\.network) + t1.map(\.network))
            // Entries of the same network written otherwise (`2001:0db8::/32`): a duplicate's issue is on the later one.
            let nets = Set((t0 + t1).compactMap { try? parseNetwork($0.network).get() })
            if !nets.isEmpty {
                let prefixes = Set(nets.map { "/\($0.prefix)" })
                for e in after.topology where !scope.topology.contains(e.network) && prefixes.contains(where: e.network.hasSuffix) {
                    if let n = try? parseNetwork(e.network).get(), nets.contains(n) { scope.topology.insert(e.network) }
                }
            }

            // Sites: what a removed site or a region it no longer gives leaves dangling.
            var goneSites = Set<String>(), goneRegions = Set<String>()
            for name in scope.sites {
                let old = before.sites.filter { $0.name == name }, new = after.sites.filter { $0.name == name }
                if new.isEmpty && !old.isEmpty { goneSites.insert(name) }
                goneRegions.formUnion(Set(old.compactMap(\.region)).subtracting(new.compactMap(\.region)))
            }
            if !goneSites.isEmpty {
                for p in after.pools where p.members.contains(where: { goneSites.contains($0.site) }) { scope.pools.insert(poolKey(p.name)) }
            }
            if !goneSites.isEmpty || !goneRegions.isEmpty {
                for e in after.topology where e.site.map(goneSites.contains) == true || e.region.map(goneRegions.contains) == true {
                    scope.topology.insert(e.network)
                }
            }
            // GeoIP: its map names sites and regions.
            scope.geoip = before.geoip != after.geoip || (after.geoip != nil && !scope.sites.isEmpty)
            // Monitors: the pools and members that name a removed one.
            let goneMonitors = scope.monitors.filter { m in !after.monitors.contains { $0.name == m } }
            if !goneMonitors.isEmpty {
                for p in after.pools where p.monitor.map(goneMonitors.contains) == true
                    || p.members.contains(where: { $0.monitor.map(goneMonitors.contains) == true }) {
                    scope.pools.insert(poolKey(p.name))
                }
            }
            // Pools: fallbacks to a name whose pools came, went or changed type.
            func types(_ c: GSLBConfig) -> [String: Set<String>] {
                let lens = lengths(scope.pools)
                var t: [String: Set<String>] = [:]
                for p in c.pools where pool(p.name, in: scope.pools, lengths: lens) { t[poolKey(p.name), default: []].insert(p.type) }
                return t
            }
            let (typesBefore, typesAfter) = (types(before), types(after))
            let retyped = scope.pools.filter { typesBefore[$0] != typesAfter[$0] }
            if !retyped.isEmpty {
                let lens = lengths(retyped)
                for p in after.pools {
                    if case .pool(let target) = p.fallback, pool(target, in: retyped, lengths: lens) { scope.pools.insert(poolKey(p.name)) }
                }
            }
            return scope
        }

        /// The parts of two lists that differ, after their common beginning and end: for a change that
        /// adds, replaces or removes one object, that object; two comparisons of equal objects are cheap
        /// (their arrays and strings share storage).
        static func differing<T: Equatable>(_ a: [T], _ b: [T]) -> (ArraySlice<T>, ArraySlice<T>) {
            var head = 0
            while head < a.count && head < b.count && a[head] == b[head] { head += 1 }
            var tail = 0
            while tail < a.count - head && tail < b.count - head && a[a.count - 1 - tail] == b[b.count - 1 - tail] { tail += 1 }
            return (a[head..<(a.count - tail)], b[head..<(b.count - tail)])
        }
    }

    // MARK: - Limits (also used by the file format's documentation and tests)

    public static let ttlRange = 1...86400
    public static let answersRange = 1...16
    public static let weightRange = 0...65535
    public static let priorityRange = 0...255
    public static let portRange = 1...65535
    public static let riseFallRange = 1...10
    public static let minimumIntervalMs = 100
    public static let httpStatusRange = 100...599

    /// Monitor options (`Monitor.options` keys) each monitor type uses.
    public static let monitorOptions: [MonitorType: [String]] = [
        .tcp: ["send", "expect"],
        .http: ["method", "path", "host", "expect_status", "expect_body", "load_header", "load_json"],
        .https: ["method", "path", "host", "expect_status", "expect_body", "load_header", "load_json",
                 "verify_tls", "sni"],
        .dns: ["query", "expect_rcode", "expect_address"],
        .command: ["command"],
    ]

    /// Every monitor option key of any type.
    public static let monitorOptionKeys: Set<String> = Set(monitorOptions.values.joined())

    /// Monitor types whose probes need a port.
    public static let monitorTypesNeedingPort: Set<MonitorType> = [.tcp, .http, .https, .dns]

    // MARK: - Shared parsing helpers

    /// A byte of a site, region or monitor name: ASCII letters, digits, `_` and `-`.
    static func isTokenByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x5f || b == 0x2d
    }

    /// Parses an absolute service name (letters, digits, `-`, `_` in each label; trailing dot).
    /// Returns the name or the reason it is not one.
    public static func parseServiceName(_ text: String) -> Result<DomainName, ConfigIssue> {
        func fail(_ m: String) -> Result<DomainName, ConfigIssue> { .failure(ConfigIssue(path: "", message: m)) }
        if text.isEmpty { return fail("must not be empty") }
        guard text.hasSuffix("."), text != "." else {
            return fail("\(quoted(text)) must be an absolute name ending with a dot")
        }
        for label in text.dropLast().split(separator: ".", omittingEmptySubsequences: false) {
            if label.isEmpty { return fail("\(quoted(text)) is not a valid DNS name: empty label") }
            if label == "*" { return fail("\(quoted(text)) is a wildcard; a pool needs an exact name") }
            guard label.utf8.allSatisfy({ isTokenByte($0) }) else {
                return fail("\(quoted(text)) is not a valid DNS name: label \(quoted(String(label))) may contain only letters, digits, \"-\" and \"_\"")
            }
            if label.utf8.count > 63 {
                return fail("\(quoted(text)) is not a valid DNS name: label longer than 63 octets")
            }
        }
        do {
            return .success(try DomainName(text))
        } catch {
            return fail("\(quoted(text)) is not a valid DNS name: \(error)")
        }
    }

    /// Parses IPv4 or IPv6 text into 4 or 16 bytes.
    public static func parseAddress(_ s: String) -> [UInt8]? {
        IPAddressText.parseIPv4(s) ?? (s.contains(":") ? IPAddressText.parseIPv6(s) : nil)
    }

    /// Parses a CIDR network whose host bits are zero, or explains why it is not one.
    public static func parseNetwork(_ text: String) -> Result<CIDR, ConfigIssue> {
        func fail(_ m: String) -> Result<CIDR, ConfigIssue> { .failure(ConfigIssue(path: "", message: m)) }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            return fail("\(quoted(text)) is not a network (expected ADDRESS/PREFIX, e.g. 203.0.113.0/24)")
        }
        guard let address = ClientAddress(text: String(parts[0])) else {
            return fail("\(quoted(text)) is not a network: \(quoted(String(parts[0]))) is not an IP address")
        }
        guard !parts[1].isEmpty, parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), parts[1].count <= 3,
              let prefix = Int(parts[1]), prefix <= address.maxPrefix else {
            return fail("\(quoted(text)) is not a network: the prefix length must be 0…\(address.maxPrefix)")
        }
        let net = CIDR(address: address, prefix: prefix)
        guard net.address == address else { return fail("\(quoted(text)) has host bits set (the network is \(net))") }
        return .success(net)
    }

    /// A number as messages and details show it: `17` (no `.0`), `0.42`.
    public static func number(_ d: Double) -> String {
        if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        return String(d)
    }
}

// MARK: - The checks

extension ConfigValidator {
    fileprivate struct Run {
        let config: GSLBConfig
        var issues: [ConfigIssue] = []
        let siteNames: Set<String>
        let regions: Set<String>
        let monitorNames: Set<String>
        /// The scope being checked (nil: the whole config), and the indices of its objects, ascending.
        let scope: Scope?
        let siteIndices: [Int]
        let poolIndices: [Int]
        let monitorIndices: [Int]
        let topologyIndices: [Int]

        init(config: GSLBConfig, scope: Scope?) {
            self.config = config
            self.scope = scope
            siteNames = Set(config.sites.map(\.name))
            regions = Set(config.sites.compactMap(\.region))
            monitorNames = Set(config.monitors.map(\.name))
            if let scope {
                siteIndices = scope.sites.isEmpty ? [] : config.sites.indices.filter { scope.sites.contains(config.sites[$0].name) }
                let lengths = Scope.lengths(scope.pools)
                poolIndices = scope.pools.isEmpty ? [] : config.pools.indices.filter {
                    Scope.pool(config.pools[$0].name, in: scope.pools, lengths: lengths)
                }
                monitorIndices = scope.monitors.isEmpty ? [] : config.monitors.indices.filter { scope.monitors.contains(config.monitors[$0].name) }
                topologyIndices = scope.topology.isEmpty ? [] : config.topology.indices.filter { scope.topology.contains(config.topology[$0].network) }
            } else {
                siteIndices = Array(config.sites.indices)
                poolIndices = Array(config.pools.indices)
                monitorIndices = Array(config.monitors.indices)
                topologyIndices = Array(config.topology.indices)
            }
        }

        mutating func add(_ path: String, _ message: String) {
            issues.append(ConfigIssue(path: path, message: message))
        }

        mutating func range(_ path: String, _ v: Int, _ r: ClosedRange<Int>) {
            guard !r.contains(v) else { return }
            // From 0: the bound crossed; otherwise both bounds, whichever was crossed.
            add(path, r.lowerBound != 0 ? "\(v) must be between \(r.lowerBound) and \(r.upperBound)"
                : v < 0 ? "\(v) must be ≥ 0" : "\(v) must be ≤ \(r.upperBound)")
        }

        mutating func nonNegative(_ path: String, _ v: Double?) {
            guard let v else { return }
            if !v.isFinite { add(path, "must be a finite number") } else if v < 0 { add(path, "\(number(v)) must be ≥ 0") }
        }

        mutating func location(_ path: String, _ p: GeoPoint?) {
            guard let p else { return }
            if !(p.lat >= -90 && p.lat <= 90) { add(path + ".lat", "\(number(p.lat)) must be between -90 and 90") }
            if !(p.lon >= -180 && p.lon <= 180) { add(path + ".lon", "\(number(p.lon)) must be between -180 and 180") }
        }

        mutating func token(_ path: String, _ s: String, what: String) {
            if s.isEmpty { add(path, "must not be empty") } else if !s.utf8.allSatisfy(isTokenByte) {
                add(path, "\(quoted(s)) is not a valid \(what) name: use only letters, digits, \"_\" and \"-\"")
            }
        }

        /// Notes `key` as first seen at `index`, or, seen before, adds `message(first index)` at `path`.
        mutating func unique<K: Hashable>(_ key: K, at index: Int, _ seen: inout [K: Int], _ path: String, _ message: (Int) -> String) {
            if let first = seen[key] { add(path, message(first)) } else { seen[key] = index }
        }

        // MARK: sites

        mutating func checkSites() {
            var seen: [String: Int] = [:]
            for i in siteIndices {
                let s = config.sites[i]
                let p = "sites[\(i)]"
                token(p + ".name", s.name, what: "site")
                if !s.name.isEmpty { unique(s.name, at: i, &seen, p + ".name") { "duplicate site \(quoted(s.name)) (also sites[\($0)])" } }
                if let r = s.region { token(p + ".region", r, what: "region") }
                location(p + ".location", s.location)
                nonNegative(p + ".capacity", s.capacity)
                nonNegative(p + ".load", s.load)
            }
        }

        // MARK: pools

        struct PoolKey: Hashable { var name: DomainName; var type: String }

        mutating func checkPools(zones: [DomainName], staticData: (DomainName) -> Set<RecordType>?,
                                 occluded: (DomainName) -> Bool) {
            var names: [Int: DomainName] = [:]
            var byKey: [PoolKey: Int] = [:]
            var typesByName: [DomainName: Set<String>] = [:]
            for i in poolIndices {
                let pool = config.pools[i]
                let p = "pools[\(i)]"
                let validType = pool.type == "A" || pool.type == "AAAA" || pool.isCNAME
                if !validType { add(p + ".type", "\(quoted(pool.type)) must be A, AAAA or CNAME") }
                var parsed: DomainName?
                switch parseServiceName(pool.name) {
                case .failure(let e): add(p + ".name", e.message)
                case .success(let n):
                    parsed = n
                    checkPoolPlacement(p + ".name", n, type: pool.recordType, checkType: validType,
                                       zones: zones, staticData: staticData, occluded: occluded)
                    unique(PoolKey(name: n, type: pool.type), at: i, &byKey, p + ".name") { "duplicate pool \(n) \(pool.type) (also pools[\($0)])" }
                    let others = typesByName[n, default: []]
                    if !others.isEmpty && (pool.isCNAME || others.contains("CNAME")) && !others.contains(pool.type) {
                        // RFC 1034 §3.6.2: no other data at a CNAME's name.
                        add(p + ".name", "a CNAME pool's name can have no other pool: \(n) also has a pool of type \(others.sorted().joined(separator: "/"))")
                    }
                    typesByName[n, default: []].insert(pool.type)
                }
                names[i] = parsed
                range(p + ".ttl", pool.ttl, ttlRange)
                range(p + ".answers", pool.answers, answersRange)
                if pool.isCNAME && pool.answers != 1 { add(p + ".answers", "a CNAME pool answers one target: must be 1") }
                if let m = pool.monitor, !monitorNames.contains(m) { add(p + ".monitor", "unknown monitor \(quoted(m))") }
                if let rto = pool.rto, !(rto.isFinite && rto > 0) { add(p + ".rto", "must be a positive duration") }
                checkMembers(p, pool)
            }
            checkFallbacks(names: names, byKey: byKey, typesByName: typesByName)
        }

        mutating func checkPoolPlacement(_ path: String, _ n: DomainName, type: RecordType, checkType: Bool,
                                         zones: [DomainName], staticData: (DomainName) -> Set<RecordType>?,
                                         occluded: (DomainName) -> Bool) {
            guard zones.contains(where: { n.isSubdomain(of: $0) }) else {
                let served = zones.isEmpty ? "no zones are served" : "served: " + zones.map(\.description).sorted().joined(separator: ", ")
                add(path, "\(n) is not inside a served zone (\(served))")
                return
            }
            if occluded(n) {
                add(path, "\(n) is at or below a delegation or DNAME, where it could never be answered")
                return
            }
            guard let types = staticData(n) else { return }
            if types.contains(.cname) {
                add(path, "conflicts with static data: \(n) has a CNAME in the zone")
            } else if type == .cname && !types.isEmpty {
                add(path, "conflicts with static data: a CNAME pool's name can have no other data, and \(n) has \(types.map(\.description).sorted().joined(separator: ", ")) records in the zone")
            } else if checkType && types.contains(type) {
                add(path, "conflicts with static data: \(n) has \(type) records in the zone")
            }
        }

        mutating func checkMembers(_ p: String, _ pool: Pool) {
            if pool.members.isEmpty { add(p + ".members", "pool has no members") }
            let family = pool.type == "AAAA" ? "IPv6" : "IPv4"
            var seen: [[UInt8]: Int] = [:]
            var seenTargets: [DomainName: Int] = [:]
            for (j, m) in pool.members.enumerated() {
                let mp = "\(p).members[\(j)]"
                if m.site.isEmpty { add(mp + ".site", "must not be empty") } else if !siteNames.contains(m.site) {
                    add(mp + ".site", "unknown site \(quoted(m.site))")
                }
                if pool.isCNAME {
                    checkTarget(mp, m, j, &seenTargets)
                } else if m.isTarget {
                    add(mp + ".target", "only CNAME pools have target names; a \(pool.type) pool's members have an address")
                } else if let bytes = pool.type == "AAAA" ? IPAddressText.parseIPv6(m.address) : IPAddressText.parseIPv4(m.address) {
                    unique(bytes, at: j, &seen, mp + ".address") { "duplicate address \(m.address) in this pool (also members[\($0)])" }
                } else if pool.type == "A" || pool.type == "AAAA" {
                    add(mp + ".address", "\(quoted(m.address)) is not an \(family) address")
                }
                range(mp + ".weight", m.weight, weightRange)
                range(mp + ".priority", m.priority, priorityRange)
                if let mon = m.monitor, !monitorNames.contains(mon) { add(mp + ".monitor", "unknown monitor \(quoted(mon))") }
                if let a = m.probe?.address, parseAddress(a) == nil {
                    add(mp + ".probe.address", "\(quoted(a)) is not an IP address")
                }
                if let port = m.probe?.port { range(mp + ".probe.port", port, portRange) }
                nonNegative(mp + ".load", m.load)
            }
        }

        /// A CNAME pool's member: an absolute name (`parseServiceName`'s rules: at most 255 octets, labels of
        /// at most 63 of letters, digits, `-` and `_`), once per pool; an address only as `probe.address`.
        mutating func checkTarget(_ mp: String, _ m: Member, _ j: Int, _ seen: inout [DomainName: Int]) {
            if m.address.isEmpty { add(mp + ".target", "required (a CNAME pool's members are target names)"); return }
            // Written `address:` (no dot added), or `target:` with an address in it (a dot added).
            if parseAddress(m.isTarget ? String(m.address.dropLast()) : m.address) != nil {
                add(mp + (m.isTarget ? ".target" : ".address"),
                    "a CNAME pool's members are target names, not addresses (an address to probe goes in probe.address)")
                return
            }
            switch parseServiceName(m.address) {
            case .failure(let e): add(mp + ".target", e.message)
            case .success(let n):
                unique(n, at: j, &seen, mp + ".target") { "duplicate target \(n) in this pool (also members[\($0)])" }
            }
        }

        mutating func checkFallbacks(names: [Int: DomainName], byKey: [PoolKey: Int], typesByName: [DomainName: Set<String>]) {
            // Pools outside the scope with the name a fallback gives, found when first asked for.
            var others: [String: [Int]] = [:]
            func lookup(_ n: DomainName, _ text: String, type: String) -> (index: Int?, types: Set<String>?) {
                let key = Scope.poolKey(text)
                if scope == nil || scope!.pools.contains(key) {
                    return (byKey[PoolKey(name: n, type: type)], typesByName[n])
                }
                if others[key] == nil {
                    let keys: Set<String> = [key], lengths = Scope.lengths(keys)
                    others[key] = config.pools.indices.filter { Scope.pool(config.pools[$0].name, in: keys, lengths: lengths) }
                }
                var index: Int?
                var types: Set<String>?
                for j in others[key]! {
                    guard case .success(let name) = parseServiceName(config.pools[j].name), name == n else { continue }
                    types = (types ?? []).union([config.pools[j].type])
                    if index == nil && config.pools[j].type == type { index = j }
                }
                return (index, types)
            }
            func ownName(_ i: Int) -> DomainName? {
                names[i] ?? (scope == nil ? nil : try? parseServiceName(config.pools[i].name).get())
            }
            // target[i] = index of the pool that pool i falls back to, when it resolves.
            var target: [Int: Int] = [:]
            for i in poolIndices {
                let pool = config.pools[i]
                guard case .pool(let text) = pool.fallback else { continue }
                let path = "pools[\(i)].fallback"
                switch parseServiceName(text) {
                case .failure(let e): add(path, e.message)
                case .success(let n):
                    let found = lookup(n, text, type: pool.type)
                    if let own = names[i], own == n {
                        add(path, "pool:\(text) refers to the pool itself")
                    } else if let j = found.index {
                        target[i] = j
                    } else if let other = found.types {
                        add(path, "\(n) is a pool of type \(other.sorted().joined(separator: "/")), not \(pool.type); a fallback must have the same type")
                    } else {
                        add(path, "no \(pool.type) pool named \(n)")
                    }
                }
            }
            // Outside the scope, a pool's target is resolved when a chain from the scope reaches it.
            var resolved = Set(poolIndices)
            func next(_ i: Int) -> Int? {
                if resolved.contains(i) { return target[i] }
                resolved.insert(i)
                guard case .pool(let text) = config.pools[i].fallback, case .success(let n) = parseServiceName(text) else { return nil }
                if let own = ownName(i), own == n { return nil }
                target[i] = lookup(n, text, type: config.pools[i].type).index
                return target[i]
            }
            /// The pools from `i` along the fallbacks until just before `i` again; nil when they do not lead back to `i`.
            func cycle(from i: Int) -> [Int]? {
                var chain = [i]
                var cur = next(i)
                while let c = cur, c != i, !chain.contains(c) { chain.append(c); cur = next(c) }
                return cur == i ? chain : nil
            }
            // Every pool on a cycle gets the issue, named from itself: with a scope, the cycles through it.
            var onCycle = scope == nil ? poolIndices : []
            if scope != nil {
                var found = Set<Int>()
                for i in poolIndices where !found.contains(i) { found.formUnion(cycle(from: i) ?? []) }
                onCycle = found.sorted()
            }
            for i in onCycle {
                guard let chain = cycle(from: i) else { continue }
                let shown = (chain + [i]).map { config.pools[$0].name }.joined(separator: " → ")
                add("pools[\(i)].fallback", "fallback cycle: \(shown)")
            }
        }

        // MARK: monitors

        mutating func checkMonitors() {
            var seen: [String: Int] = [:]
            for k in monitorIndices {
                let m = config.monitors[k]
                let p = "monitors[\(k)]"
                token(p + ".name", m.name, what: "monitor")
                if !m.name.isEmpty { unique(m.name, at: k, &seen, p + ".name") { "duplicate monitor \(quoted(m.name)) (also monitors[\($0)])" } }
                if let port = m.port { range(p + ".port", port, portRange) } else if monitorTypesNeedingPort.contains(m.type) {
                    add(p + ".port", "required for \(m.type.rawValue) monitors")
                }
                if m.intervalMs < minimumIntervalMs { add(p + ".interval", "\(TimeSpan.text(milliseconds: m.intervalMs)) is shorter than the minimum of \(minimumIntervalMs)ms") }
                if m.timeoutMs <= 0 { add(p + ".timeout", "must be > 0") } else if m.timeoutMs >= m.intervalMs {
                    add(p + ".timeout", "\(TimeSpan.text(milliseconds: m.timeoutMs)) must be shorter than the interval (\(TimeSpan.text(milliseconds: m.intervalMs)))")
                }
                range(p + ".rise", m.rise, riseFallRange)
                range(p + ".fall", m.fall, riseFallRange)
                // The options of the monitor's type, through the one parse the probers use (`MonitorCheck`).
                for issue in MonitorCheck.parse(m).issues { add(p + "." + issue.path, issue.message) }
            }
        }

        // MARK: topology

        mutating func checkTopology() {
            var seen: [CIDR: Int] = [:]
            // With a scope, an entry's duplicate may be outside it: every network's first entry (built on first use).
            var firsts: [CIDR: Int]?
            for t in topologyIndices {
                let e = config.topology[t]
                let p = "topology[\(t)]"
                switch parseNetwork(e.network) {
                case .failure(let issue): add(p + ".network", issue.message)
                case .success(let net):
                    if scope != nil {
                        firsts = firsts ?? Dictionary(config.topology.indices.compactMap { u in
                            (try? parseNetwork(config.topology[u].network).get()).map { ($0, u) }
                        }, uniquingKeysWith: { first, _ in first })
                        if let first = firsts![net], first < t { add(p + ".network", "duplicate network \(net) (also topology[\(first)])") }
                    } else { unique(net, at: t, &seen, p + ".network") { "duplicate network \(net) (also topology[\($0)])" } }
                }
                checkPlace(p, region: e.region, site: e.site, location: e.location)
            }
        }

        /// What a topology entry or a GeoIP map entry maps to: exactly one of a region some site has, a site, a location.
        mutating func checkPlace(_ p: String, region: String?, site: String?, location l: GeoPoint?) {
            let given = [region.map { _ in "region" }, site.map { _ in "site" }, l.map { _ in "location" }].compactMap { $0 }
            if given.count != 1 {
                add(p, given.isEmpty ? "needs one of region, site or location"
                                     : "needs exactly one of region, site or location, got \(given.joined(separator: " and "))")
            }
            if let r = region {
                if r.isEmpty { add(p + ".region", "must not be empty") } else if !regions.contains(r) { add(p + ".region", "no site has region \(quoted(r))") }
            }
            if let s = site {
                if s.isEmpty { add(p + ".site", "must not be empty") } else if !siteNames.contains(s) { add(p + ".site", "unknown site \(quoted(s))") }
            }
            location(p + ".location", l)
        }

        // MARK: geoip

        mutating func checkGeoIP() {
            guard scope == nil || scope!.geoip, let g = config.geoip else { return }
            let p = "geoip"
            if g.database.isEmpty {
                add(p + ".database", "must not be empty")
            } else if g.database.utf8.count > 4096 || g.database.contains("\0") {
                add(p + ".database", "not a usable file name")
            } else if g.database.split(separator: "/").contains("..") {
                add(p + ".database", "must not contain \"..\" (a name inside cairn serve --geoip-dir)")
            }
            if g.map.count > GeoIPConfig.maxMapEntries {
                add(p + ".map", "\(g.map.count) entries; at most \(GeoIPConfig.maxMapEntries)")
                return
            }
            var seen: [UInt64: Int] = [:]
            for (i, e) in g.map.enumerated() {
                let q = "\(p).map[\(i)]"
                let places = [e.continent.map { _ in "continent" }, e.country.map { _ in "country" }, e.subdivision.map { _ in "subdivision" }].compactMap { $0 }
                if places.count != 1 {
                    add(q, places.isEmpty ? "needs one of continent, country or subdivision"
                                          : "needs exactly one of continent, country or subdivision, got \(places.joined(separator: " and "))")
                } else if let key = e.key {
                    unique(key, at: i, &seen, q) { "duplicate \(e.place) (also \(p).map[\($0)])" }
                } else if let c = e.continent {
                    add(q + ".continent", "unknown continent \(quoted(c)) (expected one of \(GeoIPConfig.continents.sorted().joined(separator: ", ")))")
                } else if let c = e.country {
                    add(q + ".country", "\(quoted(c)) is not an ISO 3166-1 alpha-2 code (two capital letters, such as DE)")
                } else if let c = e.subdivision {
                    add(q + ".subdivision", "\(quoted(c)) is not an ISO 3166-2 code (such as US-CA)")
                }
                checkPlace(q, region: e.region, site: e.site, location: e.location)
            }
        }
    }
}
