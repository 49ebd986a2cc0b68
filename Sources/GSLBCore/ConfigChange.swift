/// One change a config write would make (or made): what `cairn apply --dry-run` and
/// `POST /v1/config/preview` show. Made from the audit rows of the write (`Store.previewConfig`),
/// so the preview is exactly what `cairn apply` would do.
public struct ConfigChange: Sendable, Hashable, Encodable {
    /// `create`, `update` or `delete`.
    public var action: String
    /// As the audit log names it: `site:fra`, `pool:www.example.com./A`, `member:www.example.com./A/192.0.2.1`.
    public var object: String
    /// For an update, each key whose value changes (keys of docs/config-file.md, as the audit log stores them).
    public var fields: [Field]
    /// A pool or member deletion: the name (or address) stops being answered, so clients lose traffic.
    public var removesAnswers: Bool

    public struct Field: Sendable, Hashable, Encodable {
        public var key: String
        /// nil: the key had no value (or has none after).
        public var old: JSONValue?
        public var new: JSONValue?
    }

    enum CodingKeys: String, CodingKey { case action, object, fields, removesAnswers = "removes_answers" }

    /// The changes of `audit` rows, deletions that remove answers first (the ones to read before applying),
    /// then the rest in the write's order.
    public static func from(_ audit: [AuditEntry]) -> [ConfigChange] {
        let changes = audit.map { e -> ConfigChange in
            let removes = e.action == "delete" && (e.object.hasPrefix("pool:") || e.object.hasPrefix("member:"))
            var fields: [Field] = []
            if e.action == "update" {
                let before = e.before.flatMap(JSONValue.parse).map(Self.flatten) ?? []
                let after = e.after.flatMap(JSONValue.parse).map(Self.flatten) ?? []
                var keys: [String] = []
                for (k, _) in before + after where !keys.contains(k) { keys.append(k) }
                // A member on both sides shows its changed keys; an added or removed one shows whole.
                let membersBefore = Set(before.map(\.0).filter(Self.isMember)), membersAfter = Set(after.map(\.0).filter(Self.isMember))
                let whole = membersBefore.symmetricDifference(membersAfter)
                for k in keys {
                    if Self.isMember(k) ? !whole.contains(k) : whole.contains(where: { k.hasPrefix($0 + ".") }) { continue }
                    let old = before.first { $0.0 == k }?.1, new = after.first { $0.0 == k }?.1
                    if old != new { fields.append(Field(key: k, old: old, new: new)) }
                }
            }
            return ConfigChange(action: e.action, object: e.object, fields: fields, removesAnswers: removes)
        }
        return changes.filter(\.removesAnswers) + changes.filter { !$0.removesAnswers }
    }

    /// `members[ADDRESS]`: a whole member (not one of its keys).
    static func isMember(_ key: String) -> Bool { key.hasPrefix("members[") && key.hasSuffix("]") }

    /// Top-level keys with their values; a pool's members by address, each key on its own
    /// (`members[192.0.2.10].weight`), so that a member's change shows as that key.
    static func flatten(_ v: JSONValue) -> [(String, JSONValue)] {
        guard case .object(let fields) = v else { return [] }
        var out: [(String, JSONValue)] = []
        for f in fields where f.key != "version" {
            if f.key == "members", case .array(let members) = f.value {
                for m in members {
                    guard case .object(let mf) = m else { continue }
                    let address = mf.first { $0.key == "address" }.flatMap { if case .string(let a) = $0.value { return a } else { return nil } } ?? "?"
                    out.append(("members[\(address)]", .object(mf.filter { $0.key != "version" })))
                    for x in mf where x.key != "address" && x.key != "version" { out.append(("members[\(address)].\(x.key)", x.value)) }
                }
            } else {
                out.append((f.key, f.value))
            }
        }
        return out
    }

    /// One line: `update site:fra: capacity 1000 → 1200, region eu → (none)`; a deletion that removes
    /// answers says so.
    public var text: String {
        var s = "\(action) \(object)"
        if removesAnswers { s += " (stops answering)" }
        if !fields.isEmpty {
            s += ": " + fields.map { "\($0.key) \($0.old?.compactText ?? "(none)") → \($0.new?.compactText ?? "(none)")" }
                .joined(separator: ", ")
        }
        return s
    }
}
