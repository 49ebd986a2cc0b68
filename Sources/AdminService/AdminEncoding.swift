import Foundation
import GSLBCore

// API JSON of the model: each object's own `encode(to:)` (GSLBCore/Model+Codable.swift, the keys of
// docs/config-file.md) through `jsonText`, config objects with their `version` after their keys.

/// The text of a response body (GSLBCore's OrderedJSONEncoder: documented key order, absent values as `null`).
func jsonText(_ value: some Encodable) -> String { JSONValue(encoding: value).compactText }

/// A config object with its `version` (what a GET returns and a PUT takes back).
typealias Versioned<T: Encodable> = WithKey<T, Int64>

func versioned<T: Encodable>(_ value: T, _ version: Int64?) -> Versioned<T> { WithKey(value, "version", version) }

enum Encode {
    /// A pool with its version, its members in their place each with its own.
    static func pool(_ p: Pool, versions: [String: Int64]) -> Versioned<WithKey<Pool, [Versioned<Member>]>> {
        versioned(WithKey(p, "members", p.members.map { versioned($0, versions[ObjectName.member(p.name, p.type, $0.address)]) }),
                  versions[ObjectName.pool(p.name, p.type)])
    }

    /// `showCommand`: a command monitor's argv (it may hold credentials) is shown to `admin` tokens only.
    static func monitor(_ m: Monitor, version: Int64?, showCommand: Bool) -> Versioned<Monitor> {
        var m = m
        if !showCommand && m.type == .command { m.options["command"] = nil }
        return versioned(m, version)
    }

    /// A row of the audit log; its before/after are the objects as stored (GSLBStore's audit shape).
    struct AuditRow: Encodable {
        var id: Int64?
        var time, principal, source: String
        var requestID: String?
        var action, object: String
        var before, after: JSONValue?
        /// The node that made the change (null before schema v3).
        var node: String?

        enum CodingKeys: String, CodingKey {
            case id, time, principal, source, requestID = "request_id", action, object, before, after, node
        }
    }

    /// `showCommand`: as for `monitor`, a command monitor's argv in the audit row is for `admin` tokens only.
    static func audit(_ a: AuditEntry, showCommand: Bool) -> AuditRow {
        func side(_ text: String?) -> JSONValue? {
            guard let text else { return nil }
            let j = JSONValue.parse(text) ?? .string(text)
            return !showCommand && a.object.hasPrefix("monitor:") ? hidingCommand(j) : j
        }
        return AuditRow(id: a.id, time: RFC3339.format(a.time), principal: a.principal, source: a.source, requestID: a.requestID,
                        action: a.action, object: a.object, before: side(a.before), after: side(a.after), node: a.node)
    }

    static let hiddenCommand = "(hidden: admin scope only)"

    /// A monitor's audit object with a command monitor's `options.command` replaced by `hiddenCommand`, the
    /// rest as stored.
    static func hidingCommand(_ j: JSONValue) -> JSONValue {
        guard case .object(var fields) = j, fields.contains(where: { $0.key == "type" && $0.value == .string("command") }),
              let i = fields.firstIndex(where: { $0.key == "options" }), case .object(var options) = fields[i].value,
              let k = options.firstIndex(where: { $0.key == "command" }) else { return j }
        options[k].value = .string(hiddenCommand)
        fields[i].value = .object(options)
        return .object(fields)
    }
}

// MARK: - Responses that are not config objects

extension Encode {
    /// `GET /v1/audit`.
    struct AuditPage: Encodable {
        var entries: [AuditRow]
        var limit: Int
        var offset: Int
    }
}

/// `GET /v1/health`.
struct HealthReport: Encodable {
    var coldStart: Bool
    /// `store`, or `cache` while the configuration served is the local cache's (the store was away at start).
    var configSource: String
    /// RFC 3339 time the cache served was saved; null when serving the store's state.
    var cacheSavedAt: String?
    var members: [HealthRow]

    enum CodingKeys: String, CodingKey { case coldStart = "cold_start", configSource = "config_source", cacheSavedAt = "cache_saved_at", members }
}

/// One member's health: real and forced state side by side, and the last probe.
struct HealthRow: Encodable {
    struct Probe: Encodable {
        var ok: Bool
        var detail: String
        var latencyMs: Double
        var at: String?
        /// An up answer without a readable load (the monitor reads one): why; the member's load is unknown.
        var loadProblem: String?

        enum CodingKeys: String, CodingKey { case ok, detail, latencyMs = "latency_ms", at, loadProblem = "load_problem" }
    }

    var pool, type, address, site: String
    var monitor: String?
    var admin, real: String
    var realStale: Bool
    var forced, forcedBy: String?
    /// The id of the override in force, and the drill that set it.
    var forcedOverride: Int64?
    var forcedDrill: String?
    var effective: String
    var eligible: Bool
    var since: String?
    var lastProbe: Probe?
    var probes, flaps: Int?
    var load: Double?
    /// With several live nodes: the rule `real` was agreed by, and each node's own verdict.
    var quorum: String?
    var nodes: [Explanation.NodeVerdict]?

    enum CodingKeys: String, CodingKey {
        case pool, type, address, site, monitor, admin, real, realStale = "real_stale", forced, forcedBy = "forced_by"
        case forcedOverride = "forced_override", forcedDrill = "forced_drill"
        case effective, eligible, since, lastProbe = "last_probe", probes, flaps, load, quorum, nodes
    }
}

/// `GET /v1/zones`; `POST /v1/zones/reload` adds the snapshot `generation`.
struct ZoneList: Encodable {
    struct Zone: Encodable {
        var origin: String
        var serial: UInt32
        var source: String
    }

    var zones: [Zone]
    var errors: [String]
    var generation: UInt64?

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        try c.encode(zones, forKey: AnyCodingKey("zones"))
        try c.encode(errors, forKey: AnyCodingKey("errors"))
        if let generation { try c.encode(generation, forKey: AnyCodingKey("generation")) }
    }
}

/// A line of `GET /v1/drills` (the report itself is `GET /v1/drills/ID`).
struct DrillSummary: Encodable {
    var id, target, mode, status: String
    var hold: Double
    var scheduledAt, startedAt, endedAt: String?
    var timeToFailover, timeToFailback: Double?
    var verdict: String?

    enum CodingKeys: String, CodingKey {
        case id, target, mode, status, hold, scheduledAt = "scheduled_at", startedAt = "started_at", endedAt = "ended_at"
        case timeToFailover = "time_to_failover", timeToFailback = "time_to_failback", verdict
    }
}

extension DrillSummary {
    init(_ r: DrillReport) {
        func time(_ t: Double?) -> String? { t.map { RFC3339.format($0) } }
        func ms(_ s: Double?) -> Double? { s.map { ($0 * 1000).rounded() / 1000 } }
        self.init(id: r.id, target: r.target.description, mode: r.mode, status: r.status.rawValue, hold: r.hold,
                  scheduledAt: time(r.scheduledAt), startedAt: time(r.startedAt), endedAt: time(r.endedAt),
                  timeToFailover: ms(r.measurements?.timeToFailover), timeToFailback: ms(r.measurements?.timeToFailback),
                  verdict: r.verdict?.result)
    }
}
