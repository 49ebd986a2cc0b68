// The one codec of each config object: the keys of docs/config-file.md, read from a `cairn apply`
// file, an API body or any JSON. Defaults are those of the memberwise initialisers; a value that
// cannot be read is reported (see ConfigNode.swift) and leaves the default in place.
// `encode(to:)` writes the keys in their documented order, absent values with `encodeIfPresent`
// (the API's encoder writes those as `null`, JSONEncoder leaves them out). The audit log encodes the
// same objects in their stored shape (`CodingUserInfoKey.auditShape`): times and durations as numbers.
// `ProbeTarget` and `GeoIPMapEntry`, all of whose keys are optional, have the compiler's codec (declared with
// their types: every key `decodeIfPresent`, `encodeIfPresent` in the documented order); `GeoPoint`, `Site`,
// `TopologyEntry` and `GeoIPConfig` the compiler's `encode(to:)` (their keys in declaration order, absent ones
// with `encodeIfPresent`) beside their own `init(from:)` here.

extension CodingUserInfoKey {
    /// Set by the audit log's encoder (GSLBStore): the shape audit rows have had since the log began,
    /// which `GET /v1/audit` passes through as stored. Monitors: `interval_ms`, `timeout_ms` and their
    /// options' text under `options`; pools: `rto` in seconds; overrides and tokens: Unix seconds.
    public static let auditShape = CodingUserInfoKey(rawValue: "cairn.auditShape")!
}

extension Encoder {
    var auditShape: Bool { userInfo[.auditShape] as? Bool == true }
}

extension KeyedEncodingContainer {
    /// A time (Unix seconds) or a duration (seconds): the number in the audit shape, else `text` of it (RFC 3339;
    /// `TimeSpan.text` for a duration). Nil is written as `encodeIfPresent` writes it.
    mutating func encodeSeconds(_ v: Double?, forKey key: Key, _ encoder: any Encoder,
                                text: (Double) -> String = { RFC3339.format($0) }) throws {
        if encoder.auditShape { try encodeIfPresent(v, forKey: key) } else { try encodeIfPresent(v.map(text), forKey: key) }
    }
}

extension GeoPoint {
    enum CodingKeys: String, ConfigCodingKeys {
        case lat, lon
        static let what = "a location {lat, lon}"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let lat = try c.required(Double.self, .lat, decoder), lon = try c.required(Double.self, .lon, decoder)
        guard let lat, let lon else { throw ConfigValueUnusable() }
        self.init(lat: lat, lon: lon)
    }
}

extension Site {
    enum CodingKeys: String, ConfigCodingKeys {
        case name, region, location, capacity, load
        static let what = "a site"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.required(String.self, .name, decoder) ?? "",
                  region: try c.decodeIfPresent(String.self, forKey: .region),
                  location: try c.decodeIfPresent(GeoPoint.self, forKey: .location),
                  capacity: try c.decodeIfPresent(Double.self, forKey: .capacity),
                  load: try c.decodeIfPresent(Double.self, forKey: .load))
    }
}

extension Member: Codable {
    enum CodingKeys: String, ConfigCodingKeys {
        case site, address, target, weight, priority, state, monitor, probe, load
        static let what = "a member"
    }

    /// A member has an `address` (A and AAAA pools) or a `target` name (CNAME pools; a missing trailing
    /// dot is added, as for pool names), never both: an address to probe a target at is `probe.address`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let site = try c.required(String.self, .site, decoder) ?? ""
        // Values, not keys: the config decoder's placeholder of an unreadable member has every key.
        if let target = try c.decodeIfPresent(String.self, forKey: .target) {
            if try c.decodeIfPresent(String.self, forKey: .address) != nil {
                try decoder.problem(at: c.path(.address), "a member has an address or a target, not both (a target's probe address goes in probe.address)")
            }
            self.init(site: site, address: Pool.absolute(target))
        } else {
            self.init(site: site, address: try c.required(String.self, .address, decoder) ?? "")
        }
        if let v = try c.decodeIfPresent(Int.self, forKey: .weight) { weight = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .priority) { priority = v }
        if let s = try c.text(.state, decoder, AdminState.init(rawValue:), { "unknown state \"\($0)\" (expected enabled, drain or disabled)" }) {
            state = s
        }
        monitor = try c.decodeIfPresent(String.self, forKey: .monitor)
        probe = try c.decodeIfPresent(ProbeTarget.self, forKey: .probe)
        load = try c.decodeIfPresent(Double.self, forKey: .load)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(site, forKey: .site)
        try c.encode(address, forKey: isTarget ? .target : .address)
        try c.encode(weight, forKey: .weight)
        try c.encode(priority, forKey: .priority)
        try c.encode(state.rawValue, forKey: .state)
        try c.encodeIfPresent(monitor, forKey: .monitor)
        try c.encodeIfPresent(probe, forKey: .probe)
        try c.encodeIfPresent(load, forKey: .load)
    }
}

extension Pool: Codable {
    enum CodingKeys: String, ConfigCodingKeys {
        case name, type, policy, ttl, answers, ecs, fallback, monitor, rto, members
        static let what = "a pool"
    }

    /// Pool names (and `pool:NAME` fallbacks) without a trailing dot get one; the type is upper-cased.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: Self.absolute(try c.required(String.self, .name, decoder) ?? ""))
        if let t = try c.decodeIfPresent(String.self, forKey: .type) {
            let u = t.uppercased()
            type = u == "A" || u == "AAAA" || u == "CNAME" ? u : t
        }
        if let k = try c.text(.policy, decoder, PolicyKind.init(rawValue:), {
            "unknown policy \"\($0)\" (expected \(PolicyKind.allCases.map(\.rawValue).joined(separator: ", ")))"
        }) { policy = k }
        if let v = try c.decodeIfPresent(Int.self, forKey: .ttl) { ttl = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .answers) { answers = v }
        if let v = try c.decodeIfPresent(Bool.self, forKey: .ecs) { ecs = v }
        if let f = try c.text(.fallback, decoder, Fallback.init(text:), {
            "\"\($0)\" is not a fallback (expected all, none, servfail or pool:NAME)"
        }) {
            if case .pool(let name) = f { fallback = .pool(Self.absolute(name)) } else { fallback = f }
        }
        monitor = try c.decodeIfPresent(String.self, forKey: .monitor)
        rto = try c.seconds(.rto, decoder)
        members = try c.decodeIfPresent([Member].self, forKey: .members) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(type, forKey: .type)
        try c.encode(policy.rawValue, forKey: .policy)
        try c.encode(ttl, forKey: .ttl)
        try c.encode(answers, forKey: .answers)
        try c.encode(ecs, forKey: .ecs)
        try c.encode(fallback.description, forKey: .fallback)
        try c.encodeIfPresent(monitor, forKey: .monitor)
        try c.encodeSeconds(rto, forKey: .rto, encoder) { TimeSpan.text(seconds: $0) }
        try c.encode(members, forKey: .members)
    }

    public static func absolute(_ name: String) -> String {
        name.isEmpty || name.hasSuffix(".") ? name : name + "."
    }
}

extension TopologyEntry {
    enum CodingKeys: String, ConfigCodingKeys {
        case network, region, site, location
        static let what = "a topology entry"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(network: try c.required(String.self, .network, decoder) ?? "",
                  region: try c.decodeIfPresent(String.self, forKey: .region),
                  site: try c.decodeIfPresent(String.self, forKey: .site),
                  location: try c.decodeIfPresent(GeoPoint.self, forKey: .location))
    }
}

extension Monitor: Codable {
    /// The fixed keys, then the options of every type (`ConfigValidator.monitorOptionKeys`).
    struct CodingKeys: ConfigCodingKeys, Hashable {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }

        static let fixed = ["name", "type", "port", "interval", "timeout", "rise", "fall", "quorum"]
        static let allCases = (fixed + ConfigValidator.monitorOptionKeys.sorted()).map(CodingKeys.init)
        static let what = "a monitor"
        static let name = CodingKeys("name"), type = CodingKeys("type"), port = CodingKeys("port")
        static let interval = CodingKeys("interval"), timeout = CodingKeys("timeout")
        static let rise = CodingKeys("rise"), fall = CodingKeys("fall"), quorum = CodingKeys("quorum")
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.required(String.self, .name, decoder) ?? "", type: .tcp)
        if let t = try c.text(.type, decoder, MonitorType.init(rawValue:), {
            "unknown monitor type \"\($0)\" (expected tcp, http, https, dns or command)"
        }) { type = t } else {
            if c.isAbsent(.type) { try decoder.problem(at: c.path(.type), "required") }
            decoder.suppress(configPath(c.codingPath))
        }
        port = try c.decodeIfPresent(Int.self, forKey: .port)
        if let v = try c.milliseconds(.interval, decoder) { intervalMs = v }
        if let v = try c.milliseconds(.timeout, decoder) { timeoutMs = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .rise) { rise = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .fall) { fall = v }
        if let q = try c.text(.quorum, decoder, HealthQuorum.init(rawValue:), {
            "unknown quorum \"\($0)\" (expected local, majority, any or all)"
        }) { quorum = q }
        for key in c.allKeys where ConfigValidator.monitorOptionKeys.contains(key.stringValue) {
            let p = c.path(key)
            let node = try c.decode(ConfigNode.self, forKey: key)
            switch node {
            case .scalar(let s, _) where !node.isNull: options[key.stringValue] = s
            case .list, .map:
                if let j = try Self.json(node, p, decoder) { options[key.stringValue] = j.compactText }
            case .scalar, .alias: try decoder.problem(at: p, "expected a value")
            }
        }
    }

    /// The fixed keys, then the options in key order, each as `option(_:)`. In the audit shape: `interval_ms`,
    /// `timeout_ms` and the options' stored text under `options` (left out when there are none).
    public func encode(to encoder: any Encoder) throws {
        let audit = encoder.auditShape
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(type.rawValue, forKey: .type)
        try c.encodeIfPresent(port, forKey: .port)
        if audit {
            try c.encode(intervalMs, forKey: CodingKeys("interval_ms"))
            try c.encode(timeoutMs, forKey: CodingKeys("timeout_ms"))
        } else {
            try c.encode(TimeSpan.text(milliseconds: intervalMs), forKey: .interval)
            try c.encode(TimeSpan.text(milliseconds: timeoutMs), forKey: .timeout)
        }
        try c.encode(rise, forKey: .rise)
        try c.encode(fall, forKey: .fall)
        if let quorum { try c.encode(quorum.rawValue, forKey: .quorum) }
        if audit {
            if !options.isEmpty { try c.encode(options, forKey: CodingKeys("options")) }
        } else {
            for (k, text) in options.sorted(by: { $0.key < $1.key }) { try c.encode(Self.option(text), forKey: CodingKeys(k)) }
        }
    }

    /// An option's stored text as a value: JSON text (a list, map, number or boolean, as stored)
    /// as that JSON, any other text (`/healthz`) as a string.
    public static func option(_ text: String) -> JSONValue {
        if let j = JSONValue.parse(text), j.compactText == text { if case .string = j {} else if j != .null { return j } }
        return .string(text)
    }

    /// A list or map option value as JSON (scalars by YAML's plain-scalar rules).
    static func json(_ node: ConfigNode, _ p: String, _ decoder: any Decoder) throws -> JSONValue? {
        switch node {
        case .scalar(let s, let style):
            if style != .plain { return .string(s) }
            if node.isNull { return .null }
            if let b = ConfigNode.bool(s) { return .bool(b) }
            return JSONValue.isNumberText(s) ? .number(s) : .string(s)
        case .list(let items):
            var out: [JSONValue] = []
            for (i, item) in items.enumerated() {
                guard let v = try json(item, "\(p)[\(i)]", decoder) else { return nil }
                out.append(v)
            }
            return .array(out)
        case .map(let entries):
            var out: [JSONValue.Field] = []
            for e in entries {
                guard case .scalar(let k, _) = e.key else { try decoder.problem(at: p, "keys must be strings"); return nil }
                guard let v = try json(e.value, p + "." + k, decoder) else { return nil }
                out.append(.init(key: k, value: v))
            }
            return .object(out)
        case .alias:
            try decoder.problem(at: p, "unexpected alias")
            return nil
        }
    }
}

extension Override: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, scope, target, state, reason, principal, expiresAt = "expires_at", permanent, createdAt = "created_at"
        case drillID = "drill_id"
    }

    /// Times in RFC 3339, `permanent` when there is no expiry; in the audit shape, times as Unix seconds.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(id, forKey: .id)
        try c.encode(scope.rawValue, forKey: .scope)
        try c.encode(target, forKey: .target)
        try c.encode(state.rawValue, forKey: .state)
        try c.encode(reason, forKey: .reason)
        try c.encode(principal, forKey: .principal)
        try c.encodeSeconds(expiresAt, forKey: .expiresAt, encoder)
        if !encoder.auditShape { try c.encode(expiresAt == nil, forKey: .permanent) }
        try c.encodeSeconds(createdAt, forKey: .createdAt, encoder)
        try c.encodeIfPresent(drillID, forKey: .drillID)
    }
}

extension APIToken: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, name, scope, expiresAt = "expires_at", createdAt = "created_at", lastUsedAt = "last_used_at"
    }

    /// Never the hash. Times in RFC 3339; in the audit shape only id, name, scope and `expires_at` (Unix
    /// seconds or null).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(scope.rawValue, forKey: .scope)
        if encoder.auditShape {
            if let expiresAt { try c.encode(expiresAt, forKey: .expiresAt) } else { try c.encodeNil(forKey: .expiresAt) }
            return
        }
        try c.encodeIfPresent(expiresAt.map { RFC3339.format($0) }, forKey: .expiresAt)
        try c.encode(RFC3339.format(createdAt), forKey: .createdAt)
        try c.encodeIfPresent(lastUsedAt.map { RFC3339.format($0) }, forKey: .lastUsedAt)
    }
}

extension TSIGKey: Encodable {
    enum CodingKeys: String, CodingKey {
        case name, algorithm, createdAt = "created_at"
    }

    /// Never the secret. In the audit shape only name and algorithm.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(algorithm.rawValue, forKey: .algorithm)
        if !encoder.auditShape { try c.encode(RFC3339.format(createdAt), forKey: .createdAt) }
    }
}

/// `value`'s keys, then `key: extra` (an API object's `version`, an audited topology entry's `position`, a new
/// token's secret); the API's encoder writes a key that `value` has already in its place. The encoder must allow
/// a keyed container asked for twice (JSONEncoder and the API's do).
public struct WithKey<Value: Encodable, Extra: Encodable>: Encodable {
    public var value: Value
    public var key: String
    public var extra: Extra?

    public init(_ value: Value, _ key: String, _ extra: Extra?) { self.value = value; self.key = key; self.extra = extra }

    public func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        try c.encodeIfPresent(extra, forKey: AnyCodingKey(key))
    }
}

extension GSLBConfig: Decodable {
    enum CodingKeys: String, ConfigCodingKeys {
        case sites, pools, monitors, topology, geoip
        static let what = "the configuration"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(sites: try c.decodeIfPresent([Site].self, forKey: .sites) ?? [],
                  pools: try c.decodeIfPresent([Pool].self, forKey: .pools) ?? [],
                  monitors: try c.decodeIfPresent([Monitor].self, forKey: .monitors) ?? [],
                  topology: try c.decodeIfPresent([TopologyEntry].self, forKey: .topology) ?? [],
                  geoip: try c.decodeIfPresent(GeoIPConfig.self, forKey: .geoip))
    }
}

extension GeoIPConfig {
    enum CodingKeys: String, ConfigCodingKeys {
        case database, map
        static let what = "the GeoIP settings"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(database: try c.required(String.self, .database, decoder) ?? "",
                  map: try c.decodeIfPresent([GeoIPMapEntry].self, forKey: .map) ?? [])
    }
}

/// A monitor option's JSON: numbers keep their text where the encoder allows (the API's does).
extension JSONValue: Encodable {
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .string(let s): var c = encoder.singleValueContainer(); try c.encode(s)
        case .number(let t):
            var c = encoder.singleValueContainer()
            if let i = Int64(t) { try c.encode(i) } else { try c.encode(Double(t) ?? .nan) }
        case .bool(let b): var c = encoder.singleValueContainer(); try c.encode(b)
        case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for v in items { try c.encode(v) }
        case .object(let fields):
            var c = encoder.container(keyedBy: Monitor.CodingKeys.self)
            for f in fields { try c.encode(f.value, forKey: .init(f.key)) }
        }
    }
}
