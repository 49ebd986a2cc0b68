import DNSWire

// The GSLB domain as stored in SQLite and written in `cairn apply` files.
// Plain values: validation is `ConfigValidator`, decisions are `PoolPolicy`.

public struct GeoPoint: Hashable, Sendable, Codable {
    public var lat: Double
    public var lon: Double
    public init(lat: Double, lon: Double) { self.lat = lat; self.lon = lon }
}

/// A location (data centre, region, cloud zone).
public struct Site: Hashable, Sendable, Codable {
    public var name: String
    public var region: String?
    public var location: GeoPoint?
    /// Capacity in the operator's unit (e.g. requests/s); used by least-loaded and drills.
    public var capacity: Double?
    /// Current load in the same unit (pushed through the store/API, later read by probes).
    public var load: Double?
    public init(name: String, region: String? = nil, location: GeoPoint? = nil, capacity: Double? = nil, load: Double? = nil) {
        self.name = name; self.region = region; self.location = location; self.capacity = capacity; self.load = load
    }
}

public enum PolicyKind: String, Hashable, Sendable, Codable, CaseIterable {
    case failover, weighted, roundRobin = "round-robin", leastLoaded = "least-loaded", closest
    case allHealthy = "all-healthy", consistentHash = "consistent-hash"
}

/// What a pool answers when no member is healthy.
public enum Fallback: Hashable, Sendable, CustomStringConvertible {
    /// Every enabled member, healthy or not (fail-open). The default.
    case all
    /// NOERROR with no data.
    case none
    case servfail
    /// The answer of another pool (same type).
    case pool(String)

    public init?(text: String) {
        switch text {
        case "all": self = .all
        case "none": self = .none
        case "servfail": self = .servfail
        default:
            guard text.hasPrefix("pool:"), text.count > 5 else { return nil }
            self = .pool(String(text.dropFirst(5)))
        }
    }

    public var description: String {
        switch self {
        case .all: return "all"
        case .none: return "none"
        case .servfail: return "servfail"
        case .pool(let p): return "pool:\(p)"
        }
    }
}

public enum AdminState: String, Hashable, Sendable, Codable, CaseIterable {
    /// Answered when healthy.
    case enabled
    /// No new answers; still probed.
    case drain
    /// Neither answered nor probed.
    case disabled
}

/// Where a member is probed when that is not its answered address (NAT, admin interface).
public struct ProbeTarget: Hashable, Sendable, Codable {
    public var address: String?
    public var port: Int?
    public init(address: String? = nil, port: Int? = nil) { self.address = address; self.port = port }

    enum CodingKeys: String, ConfigCodingKeys {
        case address, port
        static let what = "a probe target"
    }
}

/// A VIP at a site, in a pool.
public struct Member: Hashable, Sendable {
    public var site: String
    /// IPv4 or IPv6 text, matching the pool's type; in a CNAME pool, the target name (absolute, with its
    /// trailing dot: written `target` in files and API bodies). Either way the member's identity in its pool.
    public var address: String
    public var weight: Int
    public var priority: Int
    public var state: AdminState
    /// Overrides the pool's monitor.
    public var monitor: String?
    public var probe: ProbeTarget?
    /// Current load (least-loaded); nil = unknown.
    public var load: Double?

    public init(site: String, address: String, weight: Int = 100, priority: Int = 1, state: AdminState = .enabled,
                monitor: String? = nil, probe: ProbeTarget? = nil, load: Double? = nil) {
        self.site = site; self.address = address; self.weight = weight; self.priority = priority
        self.state = state; self.monitor = monitor; self.probe = probe; self.load = load
    }
}

/// A service name answered with VIPs.
public struct Pool: Hashable, Sendable {
    /// Absolute name with trailing dot, inside a served zone.
    public var name: String
    /// `A`, `AAAA`, or `CNAME` (members are target names; the policy picks one).
    public var type: String
    public var policy: PolicyKind
    public var ttl: Int
    /// At most this many addresses per answer.
    public var answers: Int
    /// Use EDNS Client Subnet when present.
    public var ecs: Bool
    public var fallback: Fallback
    public var monitor: String?
    /// Declared recovery-time objective for drills, in seconds.
    public var rto: Double?
    public var members: [Member]

    public init(name: String, type: String = "A", policy: PolicyKind = .failover, ttl: Int = 30, answers: Int = 1,
                ecs: Bool = true, fallback: Fallback = .all, monitor: String? = nil, rto: Double? = nil, members: [Member] = []) {
        self.name = name; self.type = type; self.policy = policy; self.ttl = ttl; self.answers = answers
        self.ecs = ecs; self.fallback = fallback; self.monitor = monitor; self.rto = rto; self.members = members
    }

    public var recordType: RecordType { type == "AAAA" ? .aaaa : type == "CNAME" ? .cname : .a }

    /// A pool answering one CNAME to a member's target name (gdnsd's DYNC, Route 53 aliases).
    public var isCNAME: Bool { type == "CNAME" }
}

extension Member {
    /// True for a member written as a name (`target`): an address never ends with a dot, a target always does.
    public var isTarget: Bool { address.hasSuffix(".") }

    /// Whether two member identities (`address`, or a CNAME pool's target) name the same member: addresses
    /// compared as addresses (`2001:db8::1` is `2001:db8:0::1`), names without case and with or without the
    /// trailing dot.
    public static func sameIdentity(_ a: String, _ b: String) -> Bool {
        if let x = ClientAddress(text: a), let y = ClientAddress(text: b) { return x == y }
        func name(_ s: String) -> String { (s.hasSuffix(".") ? String(s.dropLast()) : s).lowercased() }
        return name(a) == name(b)
    }
}

/// A client network mapped to a region, a site, or a location (longest prefix wins).
public struct TopologyEntry: Hashable, Sendable, Codable {
    /// CIDR, e.g. `203.0.113.0/24` or `2001:db8::/32`.
    public var network: String
    public var region: String?
    public var site: String?
    public var location: GeoPoint?
    public init(network: String, region: String? = nil, site: String? = nil, location: GeoPoint? = nil) {
        self.network = network; self.region = region; self.site = site; self.location = location
    }
}

public enum MonitorType: String, Hashable, Sendable, Codable, CaseIterable {
    case tcp, http, https, dns, command
}

/// How members are probed. Type-specific settings are in `options`
/// (e.g. `path`, `host`, `expect_status`, `expect_body`, `verify_tls`, `query`).
public struct Monitor: Hashable, Sendable {
    public var name: String
    public var type: MonitorType
    public var port: Int?
    /// Milliseconds.
    public var intervalMs: Int
    public var timeoutMs: Int
    public var rise: Int
    public var fall: Int
    /// Type-specific settings as JSON text values (strings, numbers, lists), kept verbatim.
    public var options: [String: String]
    /// How the nodes sharing a store agree on its members' state; nil: `majority` while more than one
    /// node is live, else `local` (`HealthQuorum.default`).
    public var quorum: HealthQuorum?

    public init(name: String, type: MonitorType, port: Int? = nil, intervalMs: Int = 1000, timeoutMs: Int = 500,
                rise: Int = 2, fall: Int = 2, options: [String: String] = [:], quorum: HealthQuorum? = nil) {
        self.name = name; self.type = type; self.port = port; self.intervalMs = intervalMs; self.timeoutMs = timeoutMs
        self.rise = rise; self.fall = fall; self.options = options; self.quorum = quorum
    }
}

/// The declarative GSLB configuration: what `cairn apply` writes and `cairn export` prints.
public struct GSLBConfig: Hashable, Sendable {
    public var sites: [Site]
    public var pools: [Pool]
    public var monitors: [Monitor]
    public var topology: [TopologyEntry]
    /// The GeoIP database and its map; nil: none.
    public var geoip: GeoIPConfig?
    public init(sites: [Site] = [], pools: [Pool] = [], monitors: [Monitor] = [], topology: [TopologyEntry] = [],
                geoip: GeoIPConfig? = nil) {
        self.sites = sites; self.pools = pools; self.monitors = monitors; self.topology = topology; self.geoip = geoip
    }

    /// Calls `body` with every member whose monitor (its own, else its pool's) the configuration defines, in pool
    /// and member order.
    public func forEachMonitoredMember(_ body: (Pool, Member, Monitor) throws -> Void) rethrows {
        let byName = Dictionary(monitors.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        for p in pools {
            for m in p.members {
                if let name = m.monitor ?? p.monitor, let monitor = byName[name] { try body(p, m, monitor) }
            }
        }
    }
}

public enum HealthState: String, Hashable, Sendable, Codable {
    case up, down, unknown
}

/// Identifies a member: its pool and address.
public struct MemberKey: Hashable, Sendable, CustomStringConvertible {
    public var pool: String
    public var address: String
    public init(pool: String, address: String) { self.pool = pool; self.address = address }
    public var description: String { "\(pool)/\(address)" }
}

/// The last known real (probed) state of a member.
public struct MemberHealth: Hashable, Sendable {
    public var key: MemberKey
    public var state: HealthState
    /// Seconds since the Unix epoch.
    public var since: Double
    /// True when it comes from a previous run and no probe has confirmed it yet.
    public var stale: Bool
    /// Load reported by the probe (monitor `load_header` / `load_json`), for least-loaded.
    public var load: Double?
    public init(key: MemberKey, state: HealthState, since: Double, stale: Bool = false, load: Double? = nil) {
        self.key = key; self.state = state; self.since = since; self.stale = stale; self.load = load
    }
}

public enum OverrideScope: String, Hashable, Sendable, Codable, CaseIterable {
    case site, pool, member
}

public enum ForcedState: String, Hashable, Sendable, Codable, CaseIterable {
    case up, down, drain
}

/// A forced state (maintenance, drills): effective state = forced ?? real.
public struct Override: Hashable, Sendable {
    public var id: Int64?
    public var scope: OverrideScope
    /// Site name, pool name, or `POOL/ADDRESS` for a member.
    public var target: String
    public var state: ForcedState
    public var reason: String
    public var principal: String
    /// Seconds since the Unix epoch; nil only when permanent.
    public var expiresAt: Double?
    public var createdAt: Double
    /// Set by drills so that they can find and lift their own overrides.
    public var drillID: String?
    public init(id: Int64? = nil, scope: OverrideScope, target: String, state: ForcedState, reason: String,
                principal: String, expiresAt: Double?, createdAt: Double, drillID: String? = nil) {
        self.id = id; self.scope = scope; self.target = target; self.state = state; self.reason = reason
        self.principal = principal; self.expiresAt = expiresAt; self.createdAt = createdAt; self.drillID = drillID
    }

    public func isActive(at now: Double) -> Bool { expiresAt.map { $0 > now } ?? true }
}

/// Everything the snapshot builder needs from the store.
public struct GSLBState: Hashable, Sendable {
    public var config: GSLBConfig
    public var health: [MemberHealth]
    public var overrides: [Override]
    /// Every node's own view of its members (the shared store's `health_observations`), for health quorum.
    public var observations: [NodeObservation]
    /// The nodes whose observations count (live in the registry, this node included); empty for one node.
    public var quorumNodes: [String]
    /// TSIG keys (RFC 8945), by name: what signed queries are checked against.
    public var tsigKeys: [TSIGKey]
    /// DNSSEC keys (every signed zone's), what the snapshot's `ZoneSigner`s sign with.
    public var dnssecKeys: [DNSSECKey]
    /// The open database of `config.geoip` (opened by the daemon, not the store); nil: GeoIP not used.
    public var geo: GeoDatabaseRef?
    public init(config: GSLBConfig = GSLBConfig(), health: [MemberHealth] = [], overrides: [Override] = [],
                observations: [NodeObservation] = [], quorumNodes: [String] = [], tsigKeys: [TSIGKey] = [],
                dnssecKeys: [DNSSECKey] = [], geo: GeoDatabaseRef? = nil) {
        self.geo = geo
        self.config = config; self.health = health; self.overrides = overrides
        self.observations = observations; self.quorumNodes = quorumNodes; self.tsigKeys = tsigKeys
        self.dnssecKeys = dnssecKeys
    }
}

/// One row of the audit log.
public struct AuditEntry: Hashable, Sendable {
    public var id: Int64?
    /// Seconds since the Unix epoch.
    public var time: Double
    public var principal: String
    public var source: String
    public var requestID: String?
    /// e.g. `create`, `update`, `delete`, `apply`, `auth-failure`.
    public var action: String
    /// e.g. `pool:www.example.com.`, `site:fra`.
    public var object: String
    /// JSON text of the object before and after the change, when there is one.
    public var before: String?
    public var after: String?
    /// The node that made the change (`cairn serve --node-name`, or the host `cairn apply` ran on); nil in
    /// rows written before schema v3.
    public var node: String?
    public init(id: Int64? = nil, time: Double, principal: String, source: String, requestID: String? = nil, action: String,
                object: String, before: String? = nil, after: String? = nil, node: String? = nil) {
        self.id = id; self.time = time; self.principal = principal; self.source = source; self.requestID = requestID
        self.action = action; self.object = object; self.before = before; self.after = after; self.node = node
    }
}

/// Storage of the GSLB state (SQLite in `GSLBStore`, memory in tests).
public protocol ConfigRepository: Sendable {
    /// Config, health and overrides as stored now.
    func loadState() throws -> GSLBState
    /// Makes the stored config equal to `config` (with `prune`, objects absent from it are
    /// deleted), in one transaction with one audit row per changed object. Returns those rows.
    func replaceConfig(_ config: GSLBConfig, principal: String, source: String, prune: Bool) throws -> [AuditEntry]
    /// Records a member's real state (and a history row when it changed).
    func recordHealth(_ h: MemberHealth) throws
    /// A number that changes whenever any process commits a change.
    func changeToken() throws -> Int64
    /// The node registry (nodes sharing this store); empty where there is none.
    func listNodes() throws -> [NodeRecord]
    /// Whether change tokens are the store's own count (comparable across nodes) and pushed (PostgreSQL).
    var notifiesChanges: Bool { get }
}

extension ConfigRepository {
    public func listNodes() throws -> [NodeRecord] { [] }
    public var notifiesChanges: Bool { false }
}
