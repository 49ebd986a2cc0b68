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

enum Time {
    static func rfc3339(_ t: Double) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: t))
    }

    static func parseRFC3339(_ s: String) -> Double? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d.timeIntervalSince1970 }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)?.timeIntervalSince1970
    }

    /// `500ms`, `30s`, `15m`, `2h`, `30d`.
    static func durationSeconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (u, f) in units where text.hasSuffix(u) {
            let num = text.dropLast(u.count)
            if let v = Double(num), v.isFinite, v >= 0 { return v * f }
        }
        return nil
    }

    static func durationText(ms: Int) -> String {
        if ms > 0 && ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms > 0 && ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms > 0 && ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }

    static func durationText(seconds: Double) -> String {
        let ms = seconds * 1000
        if ms == ms.rounded(), ms < 1e12 { return durationText(ms: Int(ms)) }
        return "\(seconds)s"
    }
}
