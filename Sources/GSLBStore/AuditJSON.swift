import Foundation
import GSLBCore

// JSON text of objects for the audit log's before/after columns: the keys of the `cairn
// apply` file, sorted, nil fields left out. Small Codable mirrors keep the model free of
// storage concerns.

enum AuditJSON {
    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // The mirrors hold only strings, numbers and bools: encoding cannot fail.
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    static func site(_ s: Site) -> String { encode(s) }

    static func monitor(_ m: Monitor) -> String {
        encode(MonitorMirror(name: m.name, type: m.type.rawValue, port: m.port, interval_ms: m.intervalMs,
                             timeout_ms: m.timeoutMs, rise: m.rise, fall: m.fall,
                             options: m.options.isEmpty ? nil : m.options))
    }

    static func pool(_ p: Pool) -> String {
        encode(PoolMirror(name: p.name, type: p.type, policy: p.policy.rawValue, ttl: p.ttl, answers: p.answers,
                          ecs: p.ecs, fallback: p.fallback.description, monitor: p.monitor, rto: p.rto,
                          members: p.members.map(member)))
    }

    static func member(_ m: Member) -> MemberMirror {
        MemberMirror(site: m.site, address: m.address, weight: m.weight, priority: m.priority, state: m.state.rawValue,
                     monitor: m.monitor, probe: m.probe, load: m.load)
    }

    static func topology(_ t: TopologyEntry, position: Int) -> String {
        encode(TopologyMirror(network: t.network, region: t.region, site: t.site, location: t.location, position: position))
    }

    static func override(_ o: Override) -> String {
        encode(OverrideMirror(id: o.id, scope: o.scope.rawValue, target: o.target, state: o.state.rawValue,
                              reason: o.reason, principal: o.principal, expires_at: o.expiresAt,
                              created_at: o.createdAt, drill_id: o.drillID))
    }

    struct MonitorMirror: Encodable {
        var name: String
        var type: String
        var port: Int?
        var interval_ms: Int
        var timeout_ms: Int
        var rise: Int
        var fall: Int
        var options: [String: String]?
    }

    struct MemberMirror: Encodable {
        var site: String
        var address: String
        var weight: Int
        var priority: Int
        var state: String
        var monitor: String?
        var probe: ProbeTarget?
        var load: Double?
    }

    struct PoolMirror: Encodable {
        var name: String
        var type: String
        var policy: String
        var ttl: Int
        var answers: Int
        var ecs: Bool
        var fallback: String
        var monitor: String?
        var rto: Double?
        var members: [MemberMirror]
    }

    struct TopologyMirror: Encodable {
        var network: String
        var region: String?
        var site: String?
        var location: GeoPoint?
        var position: Int
    }

    struct OverrideMirror: Encodable {
        var id: Int64?
        var scope: String
        var target: String
        var state: String
        var reason: String
        var principal: String
        var expires_at: Double?
        var created_at: Double
        var drill_id: String?
    }
}
