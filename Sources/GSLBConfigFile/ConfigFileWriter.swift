import GSLBCore

/// Writes the canonical text of a configuration, in the layout of the documentation:
/// sites, members and topology entries one flow mapping per line; pools and monitors as
/// block mappings. Strings are written plain when that reads back as the same text,
/// double-quoted otherwise.
enum ConfigFileWriter {
    static func write(_ c: GSLBConfig) -> String {
        var out = ""
        section(&out, "sites", c.sites) { out, s in out += "  - " + site(s) + "\n" }
        section(&out, "pools", c.pools) { out, p in pool(&out, p) }
        section(&out, "monitors", c.monitors) { out, m in monitor(&out, m) }
        section(&out, "topology", c.topology) { out, t in out += "  - " + topology(t) + "\n" }
        return out
    }

    static func section<T>(_ out: inout String, _ key: String, _ items: [T], _ body: (inout String, T) -> Void) {
        if items.isEmpty { out += "\(key): []\n"; return }
        out += "\(key):\n"
        for item in items { body(&out, item) }
    }

    static func flow(_ pairs: [(String, String?)]) -> String {
        "{" + pairs.compactMap { k, v in v.map { "\(k): \($0)" } }.joined(separator: ", ") + "}"
    }

    static func site(_ s: Site) -> String {
        flow([("name", scalar(s.name)), ("region", s.region.map(scalar)), ("location", s.location.map(location)),
              ("capacity", s.capacity.map(number)), ("load", s.load.map(number))])
    }

    static func location(_ g: GeoPoint) -> String {
        flow([("lat", number(g.lat)), ("lon", number(g.lon))])
    }

    static func pool(_ out: inout String, _ p: Pool) {
        out += "  - name: \(scalar(p.name))\n"
        var lines: [(String, String)] = [
            ("type", scalar(p.type)), ("policy", scalar(p.policy.rawValue)), ("ttl", String(p.ttl)),
            ("answers", String(p.answers)), ("ecs", p.ecs ? "true" : "false"), ("fallback", scalar(p.fallback.description)),
        ]
        if let m = p.monitor { lines.append(("monitor", scalar(m))) }
        if let rto = p.rto { lines.append(("rto", duration(seconds: rto))) }
        for (k, v) in lines { out += "    \(k): \(v)\n" }
        if p.members.isEmpty { out += "    members: []\n"; return }
        out += "    members:\n"
        for m in p.members { out += "      - " + member(m) + "\n" }
    }

    static func member(_ m: Member) -> String {
        let probe = m.probe.map { flow([("address", $0.address.map(scalar)), ("port", $0.port.map(String.init))]) }
        return flow([("site", scalar(m.site)), ("address", scalar(m.address)), ("weight", String(m.weight)),
                     ("priority", String(m.priority)), ("state", m.state == .enabled ? nil : m.state.rawValue),
                     ("monitor", m.monitor.map(scalar)), ("probe", probe), ("load", m.load.map(number))])
    }

    static func topology(_ t: TopologyEntry) -> String {
        flow([("network", scalar(t.network)), ("region", t.region.map(scalar)), ("site", t.site.map(scalar)),
              ("location", t.location.map(location))])
    }

    static func monitor(_ out: inout String, _ m: Monitor) {
        out += "  - name: \(scalar(m.name))\n"
        var lines: [(String, String)] = [("type", m.type.rawValue)]
        if let port = m.port { lines.append(("port", String(port))) }
        lines += [("interval", duration(ms: m.intervalMs)), ("timeout", duration(ms: m.timeoutMs)),
                  ("rise", String(m.rise)), ("fall", String(m.fall))]
        for key in m.options.keys.sorted() { lines.append((scalar(key), option(m.options[key]!))) }
        for (k, v) in lines { out += "    \(k): \(v)\n" }
    }

    /// A list or map kept as canonical JSON text goes back to a YAML flow collection (which
    /// reads back as the same JSON text); anything else is a string.
    static func option(_ text: String) -> String {
        if let j = JSONValue.parse(text), j.compactText == text {
            switch j {
            case .array, .object: return yaml(j)
            default: break
            }
        }
        return scalar(text)
    }

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

    static func number(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        return String(d)
    }

    static func duration(ms: Int) -> String { TimeSpan.text(milliseconds: ms) }

    /// The shortest unit that reads back as exactly the same number of seconds (quoted when YAML needs it).
    static func duration(seconds: Double) -> String {
        let text = TimeSpan.text(seconds: seconds)
        return TimeSpan(text) != nil ? text : scalar(text)
    }
}
