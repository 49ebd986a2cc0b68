import GSLBCore

/// Writes the canonical text of a configuration from the objects' own `encode(to:)` (the keys and order of
/// the API), in the layout of the documentation: sites, members and topology entries one flow mapping per
/// line; pools and monitors as block mappings. Keys without a value are left out, and a member's `state`
/// when it is `enabled`. Strings are written plain when that reads back as the same text, double-quoted
/// otherwise; a monitor option that is not a list or a map is written as its text.
extension ConfigFile {
    /// The canonical text of a configuration: `decode(yaml: encode(c)) == .success(c)` for every
    /// valid `c`. Every section and every pool and monitor setting is written, defaults included;
    /// member `state`, `monitor`, `probe` and `load` only when set.
    public static func encode(_ c: GSLBConfig) -> String {
        var out = ""
        section(&out, "sites", c.sites) { out, s in out += "  - " + flow(JSONValue(encoding: s)) + "\n" }
        section(&out, "pools", c.pools) { out, p in block(&out, p) }
        section(&out, "monitors", c.monitors) { out, m in block(&out, m, options: ConfigValidator.monitorOptionKeys) }
        section(&out, "topology", c.topology) { out, t in out += "  - " + flow(JSONValue(encoding: t)) + "\n" }
        if let g = c.geoip {
            // After the four sections, only when set: files without GeoIP keep their text.
            out += "geoip:\n  database: \(scalar(g.database))\n"
            out += g.map.isEmpty ? "  map: []\n" : "  map:\n" + g.map.map { "    - " + flow(JSONValue(encoding: $0)) + "\n" }.joined()
        }
        return out
    }

    static func section<T>(_ out: inout String, _ key: String, _ items: [T], _ body: (inout String, T) -> Void) {
        if items.isEmpty { out += "\(key): []\n"; return }
        out += "\(key):\n"
        for item in items { body(&out, item) }
    }

    /// A pool or a monitor: a `key: value` line per key, a pool's members a flow mapping per line. `options`:
    /// keys whose value, unless a list or a map, is written as its text (a monitor's options are kept as text).
    static func block(_ out: inout String, _ value: some Encodable, options: Set<String> = []) {
        guard case .object(let fields) = JSONValue(encoding: value) else { return }
        for (i, f) in fields.enumerated() where f.value != .null {
            out += (i == 0 ? "  - " : "    ") + scalar(f.key) + ":"
            switch f.value {
            case .array(let members) where f.key == "members" && !members.isEmpty:
                out += "\n" + members.map { "      - " + flow($0, leaving: ("state", .string(AdminState.enabled.rawValue))) + "\n" }.joined()
            case .array, .object: out += " " + yaml(f.value) + "\n"
            case .string(let s) where options.contains(f.key): out += " " + scalar(s) + "\n"
            case let v where options.contains(f.key): out += " " + scalar(v.compactText) + "\n"
            default: out += " " + yaml(f.value) + "\n"
            }
        }
    }

    /// An object of the model (a site, member or topology entry, a location, a probe target) as a flow mapping,
    /// without the keys that have no value (and without `leaving`, the value a key takes when left out).
    static func flow(_ j: JSONValue, leaving: (String, JSONValue)? = nil) -> String {
        guard case .object(let fields) = j else { return yaml(j) }
        let shown = fields.filter { $0.value != .null && !($0.key == leaving?.0 && $0.value == leaving?.1) }
        return "{" + shown.map { "\(scalar($0.key)): \(flow($0.value))" }.joined(separator: ", ") + "}"
    }

    /// A monitor option's JSON (a list or a map) as a YAML flow collection that reads back as the same JSON text.
    static func yaml(_ j: JSONValue) -> String {
        switch j {
        case .string(let s): return scalar(s)
        case .number(let t): return t
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let a): return "[" + a.map(yaml).joined(separator: ", ") + "]"
        case .object(let fields): return "{" + fields.map { "\(scalar($0.key)): \(yaml($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    // MARK: - Scalars

    static let plainWords: Set<String> = ["null", "~", "true", "false", "yes", "no", "on", "off", "y", "n",
                                          ".inf", "-.inf", "+.inf", ".nan"]

    /// Plain when the text is made only of letters, digits and `_ . / -`, does not start with
    /// `-` or `.`, and would not read as a number, boolean, null or date; double-quoted otherwise.
    static func scalar(_ s: String) -> String {
        if isPlainSafe(s) { return s }
        return doubleQuoted(s) { u in
            let v = u.value
            return v < 0x20 || v == 0x7f || (v >= 0x80 && v <= 0x9f) || v == 0x2028 || v == 0x2029 || v == 0xfeff ? unicodeEscape(u) : nil
        }
    }

    static func isPlainSafe(_ s: String) -> Bool {
        guard let first = s.utf8.first, first != UInt8(ascii: "-"), first != UInt8(ascii: ".") else { return false }
        guard s.utf8.allSatisfy({ b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
                || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: "/") || b == UInt8(ascii: "-")
        }) else { return false }
        if plainWords.contains(s.lowercased()) { return false }
        if first >= 0x30 && first <= 0x39 {
            // Numbers in any YAML spelling (1_000, 0x1f, 1e3, 1.5) and dates (2026-11-28).
            let numeric = s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
            if numeric && s.utf8.filter({ $0 == UInt8(ascii: ".") }).count <= 1 { return false }
            if Double(s) != nil || s.hasPrefix("0x") || s.hasPrefix("0o") || s.hasPrefix("0b") { return false }
            if s.utf8.count >= 8, s.utf8.prefix(4).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
               s.utf8.dropFirst(4).first == UInt8(ascii: "-") { return false }
        }
        return true
    }
}
