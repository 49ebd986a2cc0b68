import Foundation
import GSLBCore

/// A JSON value with ordered object keys, for API responses that read the same every time.
public indirect enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])
    /// Already-serialized JSON text (audit before/after), embedded as is.
    case raw(String)

    public static func == (a: JSON, b: JSON) -> Bool { a.text == b.text }

    public static func str(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }
    public static func num(_ d: Double?) -> JSON {
        guard let d else { return .null }
        if d == d.rounded(), abs(d) < 1e15 { return .int(Int64(d)) }
        return .double(d)
    }
    public static func int(_ i: Int?) -> JSON { i.map { .int(Int64($0)) } ?? .null }

    public var text: String {
        var out = ""
        write(&out)
        return out
    }

    func write(_ out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .raw(let r): out += r.isEmpty ? "null" : r
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() { if i > 0 { out += "," }; v.write(&out) }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (k, v)) in fields.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(k, to: &out); out += ":"; v.write(&out)
            }
            out += "}"
        }
    }

    /// Parses JSON text (Foundation's parser) into a value; nil when it is not JSON.
    public static func parse(_ data: Data) -> Any? {
        try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    /// Serializes a Foundation JSON object (from `parse`) back to text.
    static func serialize(_ object: Any) -> String? {
        guard let d = try? JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed]) else { return nil }
        return String(decoding: d, as: UTF8.self)
    }
}
