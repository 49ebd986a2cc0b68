/// How the nodes that share a store agree on a member's state (a monitor's `quorum`).
public enum HealthQuorum: String, Hashable, Sendable, Codable, CaseIterable {
    /// Each node trusts only its own probes.
    case local
    /// Down when more than half of the live nodes that have a verdict see it down.
    case majority
    /// Down when any live node sees it down.
    case any
    /// Down only when every live node that has a verdict sees it down.
    case all

    /// The rule of a monitor without `quorum`: `majority` while more than one node is live, else `local`.
    public static func `default`(liveNodes: Int) -> HealthQuorum { liveNodes > 1 ? .majority : .local }

    /// The state the nodes agree on, from this node's own verdict and the other live nodes' ones
    /// (`unknown` verdicts do not count). Ties go to `up`: one node cut off from a backend does
    /// not fail it over for everyone.
    public func decide(own: HealthState, others: [HealthState]) -> HealthState {
        var up = own == .up ? 1 : 0, down = own == .down ? 1 : 0
        for s in others {
            switch s {
            case .up: up += 1
            case .down: down += 1
            case .unknown: break
            }
        }
        let n = up + down
        guard n > 0 else { return .unknown }
        switch self {
        case .local: return own
        case .majority: return down * 2 > n ? .down : .up
        case .any: return down > 0 ? .down : .up
        case .all: return up == 0 ? .down : .up
        }
    }
}

/// One node's own verdict on a member, as it recorded it in the shared store.
public struct NodeObservation: Hashable, Sendable {
    public var node: String
    public var key: MemberKey
    public var state: HealthState
    /// Seconds since the epoch of the node's last transition.
    public var since: Double
    public init(node: String, key: MemberKey, state: HealthState, since: Double) {
        self.node = node; self.key = key; self.state = state; self.since = since
    }
}

/// A node of the registry: who it is, where it answers and how recently it said so.
public struct NodeRecord: Hashable, Sendable {
    public var name: String
    /// DNS listen addresses (`127.0.0.1:53`, `[::1]:53`).
    public var dns: [String]
    /// The admin API's base URL, when it has one.
    public var api: String?
    public var version: String
    /// The generation of the snapshot it serves, and the store change token it last loaded.
    public var generation: UInt64
    public var storeToken: Int64
    /// Seconds since the epoch.
    public var startedAt: Double
    public var heartbeat: Double
    /// When it stopped cleanly (SIGTERM); nil while it runs, or when it died.
    public var stoppedAt: Double?
    public init(name: String, dns: [String], api: String?, version: String, generation: UInt64, storeToken: Int64,
                startedAt: Double, heartbeat: Double, stoppedAt: Double? = nil) {
        self.name = name; self.dns = dns; self.api = api; self.version = version; self.generation = generation
        self.storeToken = storeToken; self.startedAt = startedAt; self.heartbeat = heartbeat; self.stoppedAt = stoppedAt
    }

    /// Live while it has not stopped and its last heartbeat is at most `goneAfter` seconds old.
    public func isLive(now: Double, goneAfter: Double) -> Bool { stoppedAt == nil && now - heartbeat <= goneAfter }
}

/// This build's version (the registry's `version`, `cairn_build_info`).
public enum CairnVersion {
    public static let current = "0.9.0-dev"
}
