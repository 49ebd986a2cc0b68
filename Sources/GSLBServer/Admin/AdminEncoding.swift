import Foundation
import GSLBCore

/// API JSON of the model: the keys of docs/config-file.md, plus `version`.
enum Encode {
    static func location(_ g: GeoPoint?) -> JSON {
        guard let g else { return .null }
        return .object([("lat", .double(g.lat)), ("lon", .double(g.lon))])
    }

    static func site(_ s: Site, version: Int64?) -> JSON {
        .object([("name", .string(s.name)), ("region", .str(s.region)), ("location", location(s.location)),
                 ("capacity", .num(s.capacity)), ("load", .num(s.load)), ("version", version.map { .int($0) } ?? .null)])
    }

    static func member(_ m: Member, version: Int64?) -> JSON {
        var probe = JSON.null
        if let p = m.probe { probe = .object([("address", .str(p.address)), ("port", .int(p.port))]) }
        return .object([("site", .string(m.site)), ("address", .string(m.address)), ("weight", .int(Int64(m.weight))),
                        ("priority", .int(Int64(m.priority))), ("state", .string(m.state.rawValue)),
                        ("monitor", .str(m.monitor)), ("probe", probe), ("load", .num(m.load)),
                        ("version", version.map { .int($0) } ?? .null)])
    }

    static func pool(_ p: Pool, versions: [String: Int64]) -> JSON {
        .object([("name", .string(p.name)), ("type", .string(p.type)), ("policy", .string(p.policy.rawValue)),
                 ("ttl", .int(Int64(p.ttl))), ("answers", .int(Int64(p.answers))), ("ecs", .bool(p.ecs)),
                 ("fallback", .string(p.fallback.description)), ("monitor", .str(p.monitor)),
                 ("rto", p.rto.map { .string(TimeSpan.text(seconds: $0)) } ?? .null),
                 ("members", .array(p.members.map { member($0, version: versions[Keys.member(p, $0.address)]) })),
                 ("version", versions[Keys.pool(p)].map { .int($0) } ?? .null)])
    }

    /// `showCommand`: a command monitor's argv (it may hold credentials) is shown to `admin` tokens only.
    static func monitor(_ m: Monitor, version: Int64?, showCommand: Bool) -> JSON {
        var fields: [(String, JSON)] = [("name", .string(m.name)), ("type", .string(m.type.rawValue)), ("port", .int(m.port)),
                                        ("interval", .string(TimeSpan.text(milliseconds: m.intervalMs))),
                                        ("timeout", .string(TimeSpan.text(milliseconds: m.timeoutMs))),
                                        ("rise", .int(Int64(m.rise))), ("fall", .int(Int64(m.fall)))]
        for k in m.options.keys.sorted() where showCommand || m.type != .command || k != "command" {
            fields.append((k, option(m.options[k]!)))
        }
        fields.append(("version", version.map { .int($0) } ?? .null))
        return .object(fields)
    }

    /// A monitor option's stored text: JSON (a list, map, number or boolean) as is, any other
    /// text (`/healthz`) as a JSON string.
    static func option(_ text: String) -> JSON {
        if let j = JSONValue.parse(text), j.compactText == text, j != .null { if case .string = j {} else { return .raw(text) } }
        return .string(text)
    }

    static func topology(_ t: TopologyEntry, version: Int64?) -> JSON {
        .object([("network", .string(t.network)), ("region", .str(t.region)), ("site", .str(t.site)),
                 ("location", location(t.location)), ("version", version.map { .int($0) } ?? .null)])
    }

    static func override(_ o: Override) -> JSON {
        .object([("id", o.id.map { .int($0) } ?? .null), ("scope", .string(o.scope.rawValue)), ("target", .string(o.target)),
                 ("state", .string(o.state.rawValue)), ("reason", .string(o.reason)), ("principal", .string(o.principal)),
                 ("expires_at", o.expiresAt.map { .string(RFC3339.format($0)) } ?? .null),
                 ("permanent", .bool(o.expiresAt == nil)),
                 ("created_at", .string(RFC3339.format(o.createdAt))), ("drill_id", .str(o.drillID))])
    }

    /// `showCommand`: as for `monitor`, a command monitor's argv in the audit row is for `admin` tokens only.
    static func audit(_ a: AuditEntry, showCommand: Bool) -> JSON {
        func side(_ text: String?) -> JSON {
            guard let text else { return .null }
            guard !showCommand, a.object.hasPrefix("monitor:") else { return .raw(text) }
            return .raw(hidingCommand(text))
        }
        return .object([("id", a.id.map { .int($0) } ?? .null), ("time", .string(RFC3339.format(a.time))),
                        ("principal", .string(a.principal)), ("source", .string(a.source)), ("request_id", .str(a.requestID)),
                        ("action", .string(a.action)), ("object", .string(a.object)),
                        ("before", side(a.before)), ("after", side(a.after))])
    }

    static let hiddenCommand = "(hidden: admin scope only)"

    /// A monitor's audit JSON with a command monitor's `options.command` replaced by `hiddenCommand`.
    static func hidingCommand(_ text: String) -> String {
        guard var d = JSON.parse(Data(text.utf8)) as? [String: Any], d["type"] as? String == "command",
              var options = d["options"] as? [String: Any], options["command"] != nil else { return text }
        options["command"] = hiddenCommand
        d["options"] = options
        return JSON.serialize(d) ?? "{}"
    }

    static func token(_ t: APIToken) -> JSON {
        .object([("id", .int(t.id)), ("name", .string(t.name)), ("scope", .string(t.scope.rawValue)),
                 ("expires_at", t.expiresAt.map { .string(RFC3339.format($0)) } ?? .null),
                 ("created_at", .string(RFC3339.format(t.createdAt))),
                 ("last_used_at", t.lastUsedAt.map { .string(RFC3339.format($0)) } ?? .null)])
    }
}

/// Object names as the store versions and audits them.
enum Keys {
    /// The topology table as a whole (`GET`/`PUT /v1/topology`).
    static let topologyTable = "topology"
    static func site(_ n: String) -> String { "site:\(n)" }
    static func monitor(_ n: String) -> String { "monitor:\(n)" }
    static func pool(_ p: Pool) -> String { "pool:\(p.name)/\(p.type)" }
    static func member(_ p: Pool, _ address: String) -> String { "member:\(p.name)/\(p.type)/\(address)" }
    static func topology(_ n: String) -> String { "topology:\(n)" }
}
