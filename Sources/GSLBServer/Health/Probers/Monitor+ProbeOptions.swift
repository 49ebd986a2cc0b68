import Foundation
import GSLBCore

/// Reading a monitor's type-specific options (`Monitor.options`: scalars verbatim, lists and maps as JSON text).
extension Monitor {
    /// The option as text; nil when absent or empty.
    func text(_ key: String) -> String? {
        guard let v = options[key], !v.isEmpty else { return nil }
        return v
    }

    /// `true`/`false` (also yes/no, on/off, 1/0); `fallback` when absent or unreadable.
    func flag(_ key: String, default fallback: Bool) -> Bool {
        switch text(key)?.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: return fallback
        }
    }

    /// The option parsed as JSON (lists, maps, and JSON scalars); nil when absent or not JSON.
    func json(_ key: String) -> Any? {
        guard let t = text(key) else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(t.utf8), options: [.fragmentsAllowed])
    }

    /// A list of strings: a JSON list of scalars, or a single scalar.
    func list(_ key: String) -> [String]? {
        guard let t = text(key) else { return nil }
        if let items = json(key) as? [Any] { return items.map(Monitor.scalarText) }
        return [t]
    }

    static func scalarText(_ v: Any) -> String {
        if let s = v as? String { return s }
        if let n = v as? NSNumber { return n.stringValue }
        return "\(v)"
    }
}

/// A number from a header value or a JSON field: numbers, and text holding a number.
func loadNumber(_ v: Any?) -> Double? {
    switch v {
    case let n as NSNumber: return n.doubleValue
    case let s as String: return Double(s.trimmingCharacters(in: .whitespaces))
    default: return nil
    }
}
