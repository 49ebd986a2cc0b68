import GSLBCore
import Yams

/// Walks the composed YAML tree into a `GSLBConfig`, recording every problem with its path.
/// It always produces a config (with defaults in place of unreadable values) so that the
/// validator can still look at everything else.
struct ConfigFileReader {
    var issues: [ConfigIssue] = []
    /// Places whose content was replaced by a placeholder: validator issues there are knock-ons.
    var suppressed: [String] = []

    struct Output {
        var config: GSLBConfig
        var issues: [ConfigIssue]
        var suppressed: [String]
        /// The file, or a whole section, could not be read: validating the rest would mislead.
        var unreadable: Bool
    }

    static let topKeys = ["sites", "pools", "monitors", "topology"]
    static let siteKeys = ["name", "region", "location", "capacity", "load"]
    static let locationKeys = ["lat", "lon"]
    static let poolKeys = ["name", "type", "policy", "ttl", "answers", "ecs", "fallback", "monitor", "rto", "members"]
    static let memberKeys = ["site", "address", "weight", "priority", "state", "monitor", "probe", "load"]
    static let probeKeys = ["address", "port"]
    static let topologyKeys = ["network", "region", "site", "location"]
    static let monitorKeys = ["name", "type", "port", "interval", "timeout", "rise", "fall"]
        + ConfigValidator.monitorOptionKeys.sorted()

    static func read(yaml: String) -> Output {
        var r = ConfigFileReader()
        var config = GSLBConfig()
        let unreadable: Bool
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            return Output(config: config, issues: [ConfigIssue(path: "", message: describe(yamlError: error))],
                          suppressed: [], unreadable: true)
        }
        guard let root, !isNull(root) else {
            return Output(config: config,
                          issues: [ConfigIssue(path: "", message: "the file is empty (write {} for an empty configuration)")],
                          suppressed: [], unreadable: true)
        }
        guard let top = r.fields(root, "", Self.topKeys, what: "the configuration") else {
            return Output(config: config, issues: r.issues, suppressed: [], unreadable: true)
        }
        if let items = r.list(top, "sites") {
            config.sites = items.enumerated().map { r.site($1, "sites[\($0)]") }
        }
        if let items = r.list(top, "pools") {
            config.pools = items.enumerated().map { r.pool($1, "pools[\($0)]") }
        }
        if let items = r.list(top, "monitors") {
            config.monitors = items.enumerated().map { r.monitor($1, "monitors[\($0)]") }
        }
        if let items = r.list(top, "topology") {
            config.topology = items.enumerated().map { r.topologyEntry($1, "topology[\($0)]") }
        }
        // A section that is not a list, or an unknown top-level key, leaves references dangling.
        unreadable = r.issues.contains { !$0.path.contains(".") && !$0.path.contains("[") }
        return Output(config: config, issues: r.issues, suppressed: r.suppressed, unreadable: unreadable)
    }

    // MARK: - Objects

    mutating func site(_ node: Node, _ p: String) -> Site {
        guard let f = fields(node, p, Self.siteKeys, what: "a site") else { return Site(name: "") }
        return Site(name: string(f, "name", required: true) ?? "",
                    region: string(f, "region"),
                    location: location(f, "location"),
                    capacity: double(f, "capacity"),
                    load: double(f, "load"))
    }

    mutating func pool(_ node: Node, _ p: String) -> Pool {
        guard let f = fields(node, p, Self.poolKeys, what: "a pool") else { return Pool(name: "", members: []) }
        var pool = Pool(name: "")
        if let n = string(f, "name", required: true) { pool.name = Self.absolute(n) }
        if let t = string(f, "type") {
            let u = t.uppercased()
            pool.type = u == "A" || u == "AAAA" ? u : t
        }
        if let text = string(f, "policy") {
            if let k = PolicyKind(rawValue: text) { pool.policy = k } else {
                fail(p + ".policy", "unknown policy \(quoted(text)) (expected \(PolicyKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        if let v = int(f, "ttl") { pool.ttl = v }
        if let v = int(f, "answers") { pool.answers = v }
        if let v = bool(f, "ecs") { pool.ecs = v }
        if let text = string(f, "fallback") {
            switch Fallback(text: text) {
            case .pool(let name)?: pool.fallback = .pool(Self.absolute(name))
            case let other?: pool.fallback = other
            case nil: fail(p + ".fallback", "\(quoted(text)) is not a fallback (expected all, none, servfail or pool:NAME)")
            }
        }
        pool.monitor = string(f, "monitor")
        pool.rto = durationSeconds(f, "rto")
        if let items = list(f, "members") {
            pool.members = items.enumerated().map { member($1, "\(p).members[\($0)]") }
        }
        return pool
    }

    mutating func member(_ node: Node, _ p: String) -> Member {
        guard let f = fields(node, p, Self.memberKeys, what: "a member") else { return Member(site: "", address: "") }
        var m = Member(site: string(f, "site", required: true) ?? "", address: string(f, "address", required: true) ?? "")
        if let v = int(f, "weight") { m.weight = v }
        if let v = int(f, "priority") { m.priority = v }
        if let text = string(f, "state") {
            if let s = AdminState(rawValue: text) { m.state = s } else {
                fail(p + ".state", "unknown state \(quoted(text)) (expected enabled, drain or disabled)")
            }
        }
        m.monitor = string(f, "monitor")
        if let node = f.values["probe"], !isNull(node), let pf = fields(node, p + ".probe", Self.probeKeys, what: "a probe target") {
            m.probe = ProbeTarget(address: string(pf, "address"), port: int(pf, "port"))
        }
        m.load = double(f, "load")
        return m
    }

    mutating func topologyEntry(_ node: Node, _ p: String) -> TopologyEntry {
        guard let f = fields(node, p, Self.topologyKeys, what: "a topology entry") else { return TopologyEntry(network: "") }
        return TopologyEntry(network: string(f, "network", required: true) ?? "",
                             region: string(f, "region"),
                             site: string(f, "site"),
                             location: location(f, "location"))
    }

    mutating func monitor(_ node: Node, _ p: String) -> Monitor {
        guard let f = fields(node, p, Self.monitorKeys, what: "a monitor") else { return Monitor(name: "", type: .tcp) }
        var m = Monitor(name: string(f, "name", required: true) ?? "", type: .tcp)
        if let text = string(f, "type", required: true) {
            if let t = MonitorType(rawValue: text) { m.type = t } else {
                fail(p + ".type", "unknown monitor type \(quoted(text)) (expected tcp, http, https, dns or command)")
                suppressed.append(p)
            }
        } else {
            suppressed.append(p)
        }
        m.port = int(f, "port")
        if let v = durationMs(f, "interval") { m.intervalMs = v }
        if let v = durationMs(f, "timeout") { m.timeoutMs = v }
        if let v = int(f, "rise") { m.rise = v }
        if let v = int(f, "fall") { m.fall = v }
        for key in f.order where ConfigValidator.monitorOptionKeys.contains(key) {
            let node = f.values[key]!
            let op = p + "." + key
            switch node {
            case .scalar(let s):
                if isNull(node) { fail(op, "expected a value") } else { m.options[key] = s.string }
            case .sequence, .mapping:
                if let j = json(node, op) { m.options[key] = j.compactText }
            case .alias:
                fail(op, "expected a value")
            }
        }
        return m
    }

    mutating func location(_ f: Fields, _ key: String) -> GeoPoint? {
        guard let node = f.values[key], !isNull(node) else { return nil }
        let p = f.path(key)
        guard let lf = fields(node, p, Self.locationKeys, what: "a location {lat, lon}") else { return nil }
        let lat = double(lf, "lat", required: true), lon = double(lf, "lon", required: true)
        guard let lat, let lon else { suppressed.append(p); return nil }
        return GeoPoint(lat: lat, lon: lon)
    }

    /// A list or map option value as JSON (scalars by YAML's plain-scalar rules).
    mutating func json(_ node: Node, _ p: String) -> JSONValue? {
        switch node {
        case .scalar(let s):
            if isQuoted(s) { return .string(s.string) }
            if isNull(node) { return .null }
            switch s.string {
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default: return JSONValue.isNumberText(s.string) ? .number(s.string) : .string(s.string)
            }
        case .sequence(let seq):
            var out: [JSONValue] = []
            for (i, item) in seq.enumerated() {
                guard let v = json(item, "\(p)[\(i)]") else { return nil }
                out.append(v)
            }
            return .array(out)
        case .mapping(let map):
            var out: [JSONValue.Field] = []
            for (k, v) in map {
                guard case .scalar(let ks) = k else { fail(p, "keys must be strings"); return nil }
                guard let jv = json(v, p + "." + ks.string) else { return nil }
                out.append(.init(key: ks.string, value: jv))
            }
            return .object(out)
        case .alias:
            fail(p, "unexpected alias")
            return nil
        }
    }

    // MARK: - Typed values

    /// A mapping's values by key, in file order, at a path.
    struct Fields {
        var base: String
        var values: [String: Node] = [:]
        var order: [String] = []
        func path(_ key: String) -> String { base.isEmpty ? key : base + "." + key }
    }

    mutating func fail(_ path: String, _ message: String) {
        issues.append(ConfigIssue(path: path, message: message))
    }

    /// Reads a mapping, reporting unknown keys; nil (with an issue) when the node is not a mapping.
    mutating func fields(_ node: Node, _ p: String, _ known: [String], what: String) -> Fields? {
        guard case .mapping(let map) = node else {
            fail(p, "expected \(what) (a mapping), got \(Self.describe(node))")
            if !p.isEmpty { suppressed.append(p) }
            return nil
        }
        var f = Fields(base: p)
        for (k, v) in map {
            guard case .scalar(let ks) = k else { fail(p, "keys must be strings, got \(Self.describe(k))"); continue }
            let key = ks.string
            guard known.contains(key) else {
                var msg = "unknown key"
                if let near = Self.nearest(key, in: known) { msg += " (did you mean \(quoted(near))?)" }
                fail(f.path(key), msg)
                continue
            }
            f.values[key] = v
            f.order.append(key)
        }
        return f
    }

    mutating func list(_ f: Fields, _ key: String) -> [Node]? {
        guard let node = f.values[key], !isNull(node) else { return nil }
        guard case .sequence(let seq) = node else {
            fail(f.path(key), "expected a list, got \(Self.describe(node))")
            suppressed.append(f.path(key))
            return nil
        }
        return Array(seq)
    }

    /// A scalar's text. Null (absent, `~`, `null`, empty) counts as missing.
    mutating func string(_ f: Fields, _ key: String, required: Bool = false) -> String? {
        guard let node = f.values[key], !isNull(node) else {
            if required { fail(f.path(key), "required") }
            return nil
        }
        guard case .scalar(let s) = node else {
            fail(f.path(key), "expected a string, got \(Self.describe(node))")
            return nil
        }
        return s.string
    }

    /// The text of a plain (unquoted) scalar, for numbers and booleans.
    mutating func plain(_ f: Fields, _ key: String, required: Bool, expected: String) -> (text: String, node: Node)? {
        guard let node = f.values[key], !isNull(node) else {
            if required { fail(f.path(key), "required") }
            return nil
        }
        guard case .scalar(let s) = node, !isQuoted(s) else {
            fail(f.path(key), "expected \(expected), got \(Self.describe(node))")
            return nil
        }
        return (s.string, node)
    }

    mutating func int(_ f: Fields, _ key: String, required: Bool = false) -> Int? {
        guard let (text, node) = plain(f, key, required: required, expected: "an integer") else { return nil }
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let v = Int(text) else {
            fail(f.path(key), "expected an integer, got \(Self.describe(node))")
            return nil
        }
        return v
    }

    mutating func double(_ f: Fields, _ key: String, required: Bool = false) -> Double? {
        guard let (text, node) = plain(f, key, required: required, expected: "a number") else { return nil }
        guard text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e || $0 == 0x2d || $0 == 0x2b || $0 == 0x65 || $0 == 0x45 }),
              text.utf8.contains(where: { $0 >= 0x30 && $0 <= 0x39 }),
              let v = Double(text), v.isFinite else {
            fail(f.path(key), "expected a number, got \(Self.describe(node))")
            return nil
        }
        return v
    }

    mutating func bool(_ f: Fields, _ key: String) -> Bool? {
        guard let (text, node) = plain(f, key, required: false, expected: "true or false") else { return nil }
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default:
            fail(f.path(key), "expected true or false, got \(Self.describe(node))")
            return nil
        }
    }

    /// `500ms`, `1s`, `1.5s`, `2m`, `1h` (any `TimeSpan`) as whole milliseconds.
    mutating func durationMs(_ f: Fields, _ key: String) -> Int? {
        guard let text = string(f, key) else { return nil }
        guard let d = TimeSpan(text) else {
            fail(f.path(key), "expected a duration like 500ms, 1s or 2m, got \(quoted(text))")
            return nil
        }
        guard let ms = d.wholeMilliseconds else {
            fail(f.path(key), "\(quoted(text)) is not a whole number of milliseconds (or is too large)")
            return nil
        }
        return ms
    }

    /// A duration as seconds (`rto`).
    mutating func durationSeconds(_ f: Fields, _ key: String) -> Double? {
        guard let text = string(f, key) else { return nil }
        guard let d = TimeSpan(text), let s = d.seconds else {
            fail(f.path(key), "expected a duration like 500ms, 5s or 2m, got \(quoted(text))")
            return nil
        }
        return s
    }

    // MARK: - Helpers

    static func absolute(_ name: String) -> String {
        name.isEmpty || name.hasSuffix(".") ? name : name + "."
    }

    func isQuoted(_ s: Node.Scalar) -> Bool {
        s.style == .singleQuoted || s.style == .doubleQuoted || s.style == .literal || s.style == .folded
    }

    func isNull(_ node: Node) -> Bool { Self.isNull(node) }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let s) = node else { return false }
        if s.style == .singleQuoted || s.style == .doubleQuoted || s.style == .literal || s.style == .folded { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s):
            let quotedStyle = s.style == .singleQuoted || s.style == .doubleQuoted
            return (quotedStyle ? "the quoted string " : "") + quoted(s.string)
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    static func describe(yamlError error: Error) -> String {
        guard let e = error as? YamlError else { return "cannot read YAML: \(error)" }
        switch e {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let ctx = context.map { " (\($0.text))" } ?? ""
            return "line \(mark.line), column \(mark.column): \(problem)\(ctx)"
        case .reader(let problem, _, _, _):
            return "cannot read YAML: \(problem)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "line \(context.mark.line), column \(context.mark.column): duplicate key \(duplicates.map(quoted).joined(separator: ", "))"
        default:
            return "cannot read YAML: \(e)"
        }
    }

    /// The known key closest to a misspelt one (at most 2 edits; a swap of neighbours is one).
    static func nearest(_ key: String, in known: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
            var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in 0...a.count { d[i][0] = i }
            for j in 0...b.count { d[0][j] = j }
            for i in 1...a.count {
                for j in 1...b.count {
                    let cost = a[i - 1] == b[j - 1] ? 0 : 1
                    d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                    if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
                }
            }
            return d[a.count][b.count]
        }
        let k = Array(key)
        let best = known.map { ($0, distance(k, Array($0))) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= 2, best.1 < key.count else { return nil }
        return best.0
    }
}

func quoted(_ s: String) -> String { "\"" + s + "\"" }

