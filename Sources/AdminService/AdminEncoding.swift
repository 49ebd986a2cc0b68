import Foundation
import GSLBCore

/// API JSON of the model: the keys of docs/config-file.md, plus `version`.
enum Encode {
    /// A config object as the model encodes it (GSLBCore/Model+Codable.swift), plus its `version`.
    static func object(_ value: some Encodable, version: Int64?) -> JSON {
        JSON(encoding: value).setting("version", version.map { .int($0) } ?? .null)
    }

    static func pool(_ p: Pool, versions: [String: Int64]) -> JSON {
        let j = object(p, version: versions[Keys.pool(p)])
        guard case .array(let members)? = j["members"] else { return j }
        return j.setting("members", .array(zip(members, p.members).map { m, member in
            m.setting("version", versions[Keys.member(p, member.address)].map { .int($0) } ?? .null)
        }))
    }

    /// `showCommand`: a command monitor's argv (it may hold credentials) is shown to `admin` tokens only.
    static func monitor(_ m: Monitor, version: Int64?, showCommand: Bool) -> JSON {
        let j = object(m, version: version)
        return showCommand || m.type != .command ? j : j.removing("command")
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
