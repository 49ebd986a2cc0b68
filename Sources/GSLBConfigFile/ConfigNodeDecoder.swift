import GSLBCore

/// Decodes the config objects from a `ConfigNode` (a YAML file or a JSON body) without stopping at
/// the first problem: each one is recorded in the `ConfigIssueLog` with its path, and decoding goes
/// on with the default (an optional left nil, a required string empty), so that one pass reports
/// every problem. Unknown keys are reported with the nearest known one (`ConfigCodingKeys`).
struct ConfigNodeDecoder: Decoder {
    /// nil: the placeholder of a value that could not be read (everything in it is absent, silently).
    let node: ConfigNode?
    var codingPath: [any CodingKey] = []
    let log: ConfigIssueLog
    /// Set when the node does not have the shape asked for (not a mapping, not a list).
    let misshapen = Flag()

    final class Flag { var isSet = false }

    var userInfo: [CodingUserInfoKey: Any] { [.configIssues: log] }
    var path: String { configPath(codingPath) }

    /// Decodes `T` from `node`; nil when the value is unusable (its problems are in `log`).
    static func decode<T: Decodable>(_ type: T.Type, from node: ConfigNode, log: ConfigIssueLog) -> T? {
        ConfigNodeDecoder(node: node, log: log).value(type)
    }

    /// `T` read from this decoder's node: the node itself for `ConfigNode`, nil when unusable.
    func value<T: Decodable>(_ type: T.Type) -> T? {
        if let node, let n = node as? T { return n }
        if type == String.self || type == Bool.self || type is any Numeric.Type { return scalar(type) }
        do {
            let v = try T(from: self)
            return misshapen.isSet ? nil : v
        } catch {
            // `ConfigValueUnusable` (already reported), or a decoding error of a type that is not a config object.
            if !(error is ConfigValueUnusable) { log.fail(path, "\(error)") }
            log.suppressed.append(path)
            return nil
        }
    }

    /// The value, else its placeholder: a list keeps the places of its elements whatever they hold.
    func get<T: Decodable>(_ type: T.Type) throws -> T {
        if let v = value(type) { return v }
        if let p = Self.placeholder(type) { return p }
        return try T(from: ConfigNodeDecoder(node: nil, codingPath: codingPath, log: log))
    }

    func fail(_ message: String) {
        log.fail(path, message)
        if !path.isEmpty { log.suppressed.append(path) }
        misshapen.isSet = true
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let node else { return KeyedDecodingContainer(Keyed<Key>(decoder: self, fields: nil)) }
        guard case .map(let entries) = node else {
            let what = (Key.self as? any ConfigCodingKeys.Type).map { $0.what } ?? "an object"
            fail("expected \(what) (a mapping), got \(node.described)")
            return KeyedDecodingContainer(Keyed<Key>(decoder: self, fields: nil))
        }
        let known = (Key.self as? any ConfigCodingKeys.Type).map { Self.keyNames($0) }
        var fields = Keyed<Key>.Fields()
        for e in entries {
            guard case .scalar(let key, _) = e.key else {
                log.fail(path, "keys must be strings, got \(e.key.described)")
                continue
            }
            if let known, !known.contains(key) {
                log.fail(configPath(codingPath + [AnyCodingKey(key)]), Self.unknownKey(key, in: known))
                continue
            }
            fields.values[key] = e.value
            fields.order.append(key)
        }
        return KeyedDecodingContainer(Keyed<Key>(decoder: self, fields: fields))
    }

    static func keyNames<K: ConfigCodingKeys>(_ type: K.Type) -> [String] { K.allCases.map(\.stringValue) }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard let node else { return Unkeyed(decoder: self, items: []) }
        guard case .list(let items) = node else {
            fail("expected a list, got \(node.described)")
            return Unkeyed(decoder: self, items: [])
        }
        return Unkeyed(decoder: self, items: items)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        Single(decoder: self)
    }

    func child(_ key: any CodingKey, _ node: ConfigNode?) -> ConfigNodeDecoder {
        ConfigNodeDecoder(node: node, codingPath: codingPath + [key], log: log)
    }

    // MARK: - Scalars

    /// The value of a scalar node as `T`, or nil with the problem recorded. Strings take any scalar;
    /// numbers and booleans only plain (unquoted) ones.
    func scalar<T>(_ type: T.Type) -> T? {
        guard let node, !node.isNull else { return nil }
        func wrong(_ expected: String) -> T? {
            log.fail(path, "expected \(expected), got \(node.described)")
            return nil
        }
        switch type {
        case is String.Type:
            guard case .scalar(let s, _) = node else { return wrong("a string") }
            return s as? T
        case is Int.Type:
            guard case .scalar(let text, .plain) = node else { return wrong("an integer") }
            let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let v = Int(text) else {
                return wrong("an integer")
            }
            return v as? T
        case is Double.Type:
            guard case .scalar(let text, .plain) = node else { return wrong("a number") }
            guard text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e || $0 == 0x2d || $0 == 0x2b || $0 == 0x65 || $0 == 0x45 }),
                  text.utf8.contains(where: { $0 >= 0x30 && $0 <= 0x39 }),
                  let v = Double(text), v.isFinite else { return wrong("a number") }
            return v as? T
        case is Bool.Type:
            guard case .scalar(let text, .plain) = node, let b = ConfigNode.bool(text) else { return wrong("true or false") }
            return b as? T
        default:
            log.fail(path, "cannot read a \(type)")
            return nil
        }
    }

    static func placeholder<T>(_ type: T.Type) -> T? {
        switch type {
        case is String.Type: return "" as? T
        case is Int.Type: return 0 as? T
        case is Double.Type: return 0.0 as? T
        case is Bool.Type: return false as? T
        default: return nil
        }
    }

    // MARK: - Containers

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        struct Fields {
            var values: [String: ConfigNode] = [:]
            var order: [String] = []
        }

        let decoder: ConfigNodeDecoder
        /// nil: a placeholder, where every key is present and unreadable (no "required" knock-ons).
        let fields: Fields?
        var codingPath: [any CodingKey] { decoder.codingPath }
        var allKeys: [Key] { fields?.order.compactMap(Key.init(stringValue:)) ?? [] }

        func contains(_ key: Key) -> Bool { fields.map { $0.values[key.stringValue] != nil } ?? true }

        /// A missing key is nil; in a placeholder (no fields) every key is present and not nil, as in `contains`.
        func decodeNil(forKey key: Key) throws -> Bool { fields.map { $0.values[key.stringValue]?.isNull ?? true } ?? false }

        func child(_ key: Key) -> ConfigNodeDecoder { decoder.child(key, fields?.values[key.stringValue]) }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try getIfPresent(type, key) }

        private func getIfPresent<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
            guard let fields, let node = fields.values[key.stringValue], !node.isNull else { return nil }
            return decoder.child(key, node).value(type)
        }

        /// Present or not: the node as is for `ConfigNode`, else the value or its placeholder. Being generic, it is
        /// also the protocol's `decode(_: Int.Type, forKey:)` and the other primitive requirements (as in `Unkeyed`, `Single`).
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            if type == ConfigNode.self, let n = (fields?.values[key.stringValue] ?? ConfigNode.null) as? T { return n }
            if let v = try getIfPresent(type, key) { return v }
            if let p = ConfigNodeDecoder.placeholder(type) { return p }
            return try T(from: ConfigNodeDecoder(node: nil, codingPath: codingPath + [key], log: decoder.log))
        }

        func decodeIfPresent(_ t: String.Type, forKey k: Key) throws -> String? { try getIfPresent(t, k) }
        func decodeIfPresent(_ t: Int.Type, forKey k: Key) throws -> Int? { try getIfPresent(t, k) }
        func decodeIfPresent(_ t: Double.Type, forKey k: Key) throws -> Double? { try getIfPresent(t, k) }
        func decodeIfPresent(_ t: Bool.Type, forKey k: Key) throws -> Bool? { try getIfPresent(t, k) }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try child(key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try child(key).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { decoder }
        func superDecoder(forKey key: Key) throws -> any Decoder { child(key) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let decoder: ConfigNodeDecoder
        let items: [ConfigNode]
        var currentIndex = 0
        var codingPath: [any CodingKey] { decoder.codingPath }
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        mutating func next() -> ConfigNodeDecoder {
            defer { currentIndex += 1 }
            return decoder.child(AnyCodingKey(intValue: currentIndex), currentIndex < items.count ? items[currentIndex] : nil)
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, items[currentIndex].isNull else { return false }
            currentIndex += 1
            return true
        }

        /// Every element has a value (its placeholder when unreadable), so that the places of the others stay.
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().get(type) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next().container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
        mutating func superDecoder() throws -> any Decoder { next() }
    }

    struct Single: SingleValueDecodingContainer {
        let decoder: ConfigNodeDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        func decodeNil() -> Bool { decoder.node?.isNull ?? true }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.get(type) }
    }

    // MARK: - Did you mean

    /// `unknown key`, naming the known key closest to a misspelt one (at most 2 edits; a swap of neighbours is one).
    static func unknownKey(_ key: String, in known: [String]) -> String {
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
        guard let best, best.1 <= 2, best.1 < key.count else { return "unknown key" }
        return "unknown key (did you mean \"\(best.0)\"?)"
    }
}
