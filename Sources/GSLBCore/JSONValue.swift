/// The one JSON value type: the text that list- and map-valued monitor options are kept as
/// (`expect_status: [200, 204]` → `[200,204]`), the API's monitor options, and what `cairn` reads and
/// writes. Objects keep their key order, numbers their text, so that `compactText` of a parsed canonical
/// text gives the same text back: stored options and what a GET returns for a PUT keep their spelling,
/// which Foundation's JSONSerialization (dictionaries, doubles) would not.
public indirect enum JSONValue: Hashable, Sendable {
    case string(String)
    /// The number's text as written (JSON grammar).
    case number(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([Field])

    public struct Field: Hashable, Sendable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) { self.key = key; self.value = value }
    }

    public var isArray: Bool { if case .array = self { return true } else { return false } }

    /// Compact text: no spaces, keys in their order, strings escaped minimally.
    public var compactText: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .number(let t): out += t
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() { if i > 0 { out += "," }; v.write(to: &out) }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, f) in fields.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(f.key, to: &out)
                out += ":"
                f.value.write(to: &out)
            }
            out += "}"
        }
    }

    public static func writeString(_ s: String, to out: inout String) {
        out += doubleQuoted(s) { $0 == "\u{08}" ? "\\b" : $0 == "\u{0C}" ? "\\f" : $0.value < 0x20 ? unicodeEscape($0) : nil }
    }

    /// True when `s` is a JSON number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
    public static func isNumberText(_ s: String) -> Bool {
        var p = JSONParser(b: Array(s.utf8))
        return p.number() != nil && p.i == p.b.count
    }

    /// Parses JSON text (RFC 8259); nil when it is not exactly one JSON value.
    public static func parse(_ text: String) -> JSONValue? {
        var p = JSONParser(b: Array(text.utf8))
        p.skipSpace()
        guard let v = p.value() else { return nil }
        p.skipSpace()
        return p.i == p.b.count ? v : nil
    }
}

private struct JSONParser {
    let b: [UInt8]
    var i = 0
    var depth = 0

    mutating func skipSpace() { while i < b.count, b[i] == 0x20 || b[i] == 0x0a || b[i] == 0x0d || b[i] == 0x09 { i += 1 } }

    func digit(_ at: Int) -> Bool { at < b.count && b[at] >= 0x30 && b[at] <= 0x39 }

    mutating func literal(_ s: String, _ v: JSONValue) -> JSONValue? {
        let u = Array(s.utf8)
        guard i + u.count <= b.count, Array(b[i..<(i + u.count)]) == u else { return nil }
        i += u.count
        return v
    }

    mutating func value() -> JSONValue? {
        guard i < b.count, depth < 64 else { return nil }
        switch b[i] {
        case UInt8(ascii: "\""): return string().map(JSONValue.string)
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            // An array's elements, or an object's `"key": value` members (an array's keys stay empty).
            let object = b[i] == UInt8(ascii: "{"), close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
            i += 1; depth += 1; defer { depth -= 1 }
            var fields: [JSONValue.Field] = []
            func done() -> JSONValue { object ? .object(fields) : .array(fields.map(\.value)) }
            skipSpace()
            if i < b.count, b[i] == close { i += 1; return done() }
            while true {
                skipSpace()
                var key = ""
                if object {
                    guard i < b.count, b[i] == UInt8(ascii: "\""), let k = string() else { return nil }
                    skipSpace()
                    guard i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
                    i += 1
                    skipSpace()
                    key = k
                }
                guard let v = value() else { return nil }
                fields.append(.init(key: key, value: v))
                skipSpace()
                guard i < b.count else { return nil }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == close { i += 1; return done() }
                return nil
            }
        default:
            return number().map(JSONValue.number)
        }
    }

    mutating func number() -> String? {
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { i = start; return nil }
        if b[i] == UInt8(ascii: "0") { i += 1 } else { while digit(i) { i += 1 } }
        if i < b.count, b[i] == UInt8(ascii: "."), digit(i + 1) { i += 1; while digit(i) { i += 1 } }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            var j = i + 1
            if j < b.count, b[j] == UInt8(ascii: "+") || b[j] == UInt8(ascii: "-") { j += 1 }
            if digit(j) { i = j; while digit(i) { i += 1 } }
        }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    mutating func hex4() -> UInt32? {
        guard i + 4 <= b.count else { return nil }
        var v: UInt32 = 0
        for k in 0..<4 {
            guard let d = hexDigit(b[i + k]) else { return nil }
            v = v << 4 | UInt32(d)
        }
        i += 4
        return v
    }

    mutating func string() -> String? {
        i += 1 // opening quote
        var bytes: [UInt8] = []
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; return String(decoding: bytes, as: UTF8.self) }
            if c < 0x20 { return nil }
            if c != UInt8(ascii: "\\") { bytes.append(c); i += 1; continue }
            i += 1
            guard i < b.count else { return nil }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0c)
            case UInt8(ascii: "n"): bytes.append(0x0a)
            case UInt8(ascii: "r"): bytes.append(0x0d)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                guard var v = hex4() else { return nil }
                if v >= 0xd800 && v < 0xdc00 {
                    guard i + 2 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else { return nil }
                    i += 2
                    guard let lo = hex4(), lo >= 0xdc00 && lo < 0xe000 else { return nil }
                    v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00)
                } else if v >= 0xdc00 && v < 0xe000 {
                    return nil
                }
                guard let scalar = Unicode.Scalar(v) else { return nil }
                bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: return nil
            }
        }
        return nil
    }
}
