// The encoder of API responses and `cairn export`: a `JSONValue` from a value's own `encode(to:)`. Object
// keys stay in the order they are encoded (the documented order; Foundation's JSONEncoder writes them in hash
// order or sorted), a key encoded again keeps its place and takes the new value, `encodeIfPresent(nil)` writes
// an explicit `null` (every documented key is shown), whole numbers are written as integers, and a
// `JSONValue` (a monitor option, a stored audit object) as itself.

extension JSONValue {
    /// `value` as JSON. Only a type's `encode(to:)` could throw, and the model's throw nothing of their own.
    public init(encoding value: some Encodable) {
        let node = Node()
        try! OrderedJSONEncoder(node: node, codingPath: []).encode(value)
        self = node.value
    }
}

/// A value being built: a leaf, or an object or array whose children may still change.
private final class Node {
    enum Content { case leaf(JSONValue), object([(String, Node)]), array([Node]) }
    var content = Content.leaf(.null)

    var value: JSONValue {
        switch content {
        case .leaf(let j): j
        case .object(let fields): .object(fields.map { JSONValue.Field(key: $0.0, value: $0.1.value) })
        case .array(let items): .array(items.map(\.value))
        }
    }

    func child(_ key: String) -> Node {
        let n = Node()
        guard case .object(var fields) = content else { content = .object([(key, n)]); return n }
        if let i = fields.firstIndex(where: { $0.0 == key }) { fields[i].1 = n } else { fields.append((key, n)) }
        content = .object(fields)
        return n
    }

    func appended() -> Node {
        let n = Node()
        if case .array(let items) = content { content = .array(items + [n]) } else { content = .array([n]) }
        return n
    }
}

private struct OrderedJSONEncoder: Encoder, SingleValueEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.content {} else { node.content = .object([]) }
        return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.content {} else { node.content = .array([]) }
        return Unkeyed(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func encodeNil() { node.content = .leaf(.null) }
    func encode(_ v: Bool) { node.content = .leaf(.bool(v)) }
    func encode(_ v: String) { node.content = .leaf(.string(v)) }
    /// Whole numbers as integers (`ConfigValidator.number`, as messages write them); not finite as `null`.
    func encode(_ v: Double) { node.content = .leaf(v.isFinite ? .number(ConfigValidator.number(v)) : .null) }
    func encode(_ v: Float) { encode(Double(v)) }
    /// Int, Int8 ... Int64 and UInt8 ... UInt32 (it witnesses each of those requirements) as their digits.
    func encode<I: BinaryInteger & Encodable>(_ v: I) { node.content = .leaf(.number(String(v))) }
    func encode(_ v: UInt) { encode(Double(v)) }
    func encode(_ v: UInt64) { encode(Double(v)) }
    func encode<T: Encodable>(_ v: T) throws {
        if let j = v as? JSONValue { node.content = .leaf(j) } else { try v.encode(to: self) }
    }
}

private struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    var codingPath: [any CodingKey]

    func at(_ key: Key) -> OrderedJSONEncoder { OrderedJSONEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key]) }

    func encodeNil(forKey key: Key) { at(key).encodeNil() }
    /// Also the protocol's `encode(_: Int, forKey:)` and the other primitive requirements (so in `Unkeyed`): the value's
    /// own `encode(to:)` reaches the encoder's single-value `encode`. The `encodeIfPresent` ones below are needed, as
    /// the protocol's defaults for them write nothing for nil.
    func encode<T: Encodable>(_ v: T, forKey key: Key) throws { try at(key).encode(v) }
    /// Absent values are written as `null`: the API shows every documented key.
    func put<T: Encodable>(_ v: T?, _ key: Key) throws { if let v { try at(key).encode(v) } else { encodeNil(forKey: key) } }
    func encodeIfPresent<T: Encodable>(_ v: T?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: Bool?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: String?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: Double?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: Float?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: Int?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: Int8?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: Int16?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: Int32?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: Int64?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: UInt?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: UInt8?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: UInt16?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: UInt32?, forKey key: Key) throws { try put(v, key) }
    func encodeIfPresent(_ v: UInt64?, forKey key: Key) throws { try put(v, key) }

    func nestedContainer<K: CodingKey>(keyedBy: K.Type, forKey key: Key) -> KeyedEncodingContainer<K> { at(key).container(keyedBy: K.self) }
    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { at(key).unkeyedContainer() }
    func superEncoder() -> any Encoder { OrderedJSONEncoder(node: node.child("super"), codingPath: codingPath) }
    func superEncoder(forKey key: Key) -> any Encoder { at(key) }
}

private struct Unkeyed: UnkeyedEncodingContainer {
    let node: Node
    var codingPath: [any CodingKey]
    var count: Int { if case .array(let items) = node.content { items.count } else { 0 } }

    func next() -> OrderedJSONEncoder { OrderedJSONEncoder(node: node.appended(), codingPath: codingPath + [AnyCodingKey(intValue: count)]) }

    func encodeNil() { next().encodeNil() }
    func encode<T: Encodable>(_ v: T) throws { try next().encode(v) }

    func nestedContainer<K: CodingKey>(keyedBy: K.Type) -> KeyedEncodingContainer<K> { next().container(keyedBy: K.self) }
    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { next().unkeyedContainer() }
    func superEncoder() -> any Encoder { next() }
}
