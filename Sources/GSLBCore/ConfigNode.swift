// The generic tree that `cairn apply` files (YAML) and API bodies (JSON) are read from, and the hooks
// through which the config objects' `init(from:)` report problems with their place.
//
// The objects (`Site`, `Pool`, `Member`, ...) are `Codable`. Read by the config decoder (GSLBConfigFile's
// `ConfigNodeDecoder`) from a `ConfigNode`, every problem is recorded with its path
// (`pools[0].members[1].address`) and decoding goes on, so that one pass reports everything; read by
// any other decoder (`JSONDecoder` in the CLI), the first problem throws.

/// A YAML or JSON value before it is typed. Scalars keep their text and whether they were quoted:
/// `ttl: "30"` is a string, `ttl: 30` a number, as in the file.
public indirect enum ConfigNode: Hashable, Sendable {
    public enum Style: Hashable, Sendable {
        /// Plain YAML, or a JSON number, boolean or null.
        case plain
        /// A single- or double-quoted YAML scalar, or a JSON string.
        case quoted
        /// A YAML literal (`|`) or folded (`>`) block.
        case block
    }

    public struct Entry: Hashable, Sendable {
        public var key: ConfigNode
        public var value: ConfigNode
        public init(key: ConfigNode, value: ConfigNode) { self.key = key; self.value = value }
    }

    case scalar(String, Style)
    case list([ConfigNode])
    /// Entries in document order.
    case map([Entry])
    /// A YAML alias (`*name`): not part of the format.
    case alias

    public static let null = ConfigNode.scalar("null", .plain)

    /// Absent in effect: a plain `~`, `null` or empty scalar.
    public var isNull: Bool {
        guard case .scalar(let s, .plain) = self else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s)
    }

    /// A plain scalar's boolean, by YAML 1.2's core schema (`true`, `True`, `TRUE`, the same for false); nil otherwise.
    public static func bool(_ s: String) -> Bool? {
        ["true", "True", "TRUE"].contains(s) ? true : ["false", "False", "FALSE"].contains(s) ? false : nil
    }

    /// How a message names the value: `"abc"`, `the quoted string "30"`, `a mapping`, `a list`.
    public var described: String {
        switch self {
        case .scalar(let s, let style): return (style == .quoted ? "the quoted string " : "") + "\"" + s + "\""
        case .map: return "a mapping"
        case .list: return "a list"
        case .alias: return "an alias"
        }
    }
}

// MARK: - Reading JSON with any decoder

extension ConfigNode: Decodable {
    /// For decoders other than the config decoder (which hands over its node as is): JSON's types.
    public init(from decoder: any Decoder) throws {
        if let c = try? decoder.container(keyedBy: AnyCodingKey.self) {
            self = .map(try c.allKeys.sorted { $0.stringValue < $1.stringValue }.map {
                Entry(key: .scalar($0.stringValue, .quoted), value: try c.decode(ConfigNode.self, forKey: $0))
            })
            return
        }
        if var c = try? decoder.unkeyedContainer() {
            var items: [ConfigNode] = []
            while !c.isAtEnd { items.append(try c.decode(ConfigNode.self)) }
            self = .list(items)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .scalar(b ? "true" : "false", .plain) }
        else if let i = try? c.decode(Int.self) { self = .scalar(String(i), .plain) }
        else if let d = try? c.decode(Double.self) { self = .scalar(String(d), .plain) }
        else { self = .scalar(try c.decode(String.self), .quoted) }
    }
}

/// A key made at run time: monitor options, `version`, paths.
public struct AnyCodingKey: CodingKey, Hashable, Sendable {
    public var stringValue: String
    public var intValue: Int?
    public init(_ s: String) { stringValue = s }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
}

// MARK: - Problems with their place

/// The keys of a config object: every key it takes, in the order "did you mean" prefers, and what
/// the object is called in messages (`expected a pool (a mapping), got a list`).
public protocol ConfigCodingKeys: CodingKey, CaseIterable {
    static var what: String { get }
}

/// Where the config decoder collects problems (`Decoder.userInfo[.configIssues]`).
public final class ConfigIssueLog: @unchecked Sendable {
    public var issues: [ConfigIssue] = []
    /// Places whose content was replaced by a placeholder: validator issues there are knock-ons.
    public var suppressed: [String] = []
    public init() {}
    public func fail(_ path: String, _ message: String) { issues.append(ConfigIssue(path: path, message: message)) }
}

extension CodingUserInfoKey {
    public static let configIssues = CodingUserInfoKey(rawValue: "cairn.configIssues")!
}

/// Thrown by an object that cannot be used at all (a location without `lat`): the config decoder
/// leaves the value out and its place suppressed; the problem itself was reported already.
public struct ConfigValueUnusable: Error {
    public init() {}
}

/// `pools[0].members[1].address`.
public func configPath(_ path: [any CodingKey]) -> String {
    var out = ""
    for key in path {
        if let i = key.intValue { out += "[\(i)]" } else { out += out.isEmpty ? key.stringValue : "." + key.stringValue }
    }
    return out
}

extension Decoder {
    /// A problem at `path`: the config decoder records it and goes on; any other decoder stops here.
    public func problem(at path: String, _ message: String) throws {
        guard let log = userInfo[.configIssues] as? ConfigIssueLog else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "\(path): \(message)"))
        }
        log.fail(path, message)
    }

    /// Marks a place whose value is a placeholder (its other problems are knock-ons).
    public func suppress(_ path: String) {
        (userInfo[.configIssues] as? ConfigIssueLog)?.suppressed.append(path)
    }
}

extension KeyedDecodingContainer {
    public func path(_ key: Key) -> String { configPath(codingPath + [key]) }

    /// Whether `key` is missing or `null` (the same thing in a config object or an API body).
    public func isAbsent(_ key: Key) -> Bool { !contains(key) || ((try? decodeNil(forKey: key)) ?? false) }

    /// A required value: nil when absent or null (reported as `required`) or unreadable (reported by the decoder).
    public func required<T: Decodable>(_ type: T.Type, _ key: Key, _ decoder: any Decoder) throws -> T? {
        guard !isAbsent(key) else {
            try decoder.problem(at: path(key), "required")
            return nil
        }
        return try decodeIfPresent(type, forKey: key)
    }

    /// A value spelled as text and read by `parse` (an enum, a fallback, a duration); `message` says why not.
    public func text<T>(_ key: Key, _ decoder: any Decoder, _ parse: (String) -> T?, _ message: (String) -> String) throws -> T? {
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let v = parse(text) else { try decoder.problem(at: path(key), message(text)); return nil }
        return v
    }

    /// An RFC 3339 time as Unix seconds.
    public func time(_ key: Key, _ decoder: any Decoder) throws -> Double? {
        try text(key, decoder, RFC3339.parse) { _ in "expected an RFC 3339 time such as 2026-12-01T02:00:00Z" }
    }

    /// `500ms`, `1s`, `2m` (any `TimeSpan`) as whole milliseconds.
    public func milliseconds(_ key: Key, _ decoder: any Decoder) throws -> Int? {
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let d = TimeSpan(text) else {
            try decoder.problem(at: path(key), "expected a duration like 500ms, 1s or 2m, got \"\(text)\"")
            return nil
        }
        guard let ms = d.wholeMilliseconds else {
            try decoder.problem(at: path(key), "\"\(text)\" is not a whole number of milliseconds (or is too large)")
            return nil
        }
        return ms
    }

    /// A duration as seconds (`rto`).
    public func seconds(_ key: Key, _ decoder: any Decoder) throws -> Double? {
        try text(key, decoder, TimeSpan.seconds) { "expected a duration like 500ms, 5s or 2m, got \"\($0)\"" }
    }
}
