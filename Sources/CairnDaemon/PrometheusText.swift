import Foundation
import SnapshotService

/// Writes the Prometheus text exposition format 0.0.4: per family one `# HELP`
/// and one `# TYPE` line, then its samples (`name{label="value",...} value`).
/// Label values escape `\`, `"` and newline; HELP text escapes `\` and newline.
struct PrometheusText {
    private(set) var text = ""

    init() { text.reserveCapacity(16 * 1024) }

    enum Kind: String { case counter, gauge, histogram }

    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(PrometheusText.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        sample(name, labels, formatted: PrometheusText.format(value))
    }

    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: some BinaryInteger) {
        sample(name, labels, formatted: String(value))
    }

    /// A family of one sample without labels.
    mutating func single(_ name: String, _ kind: Kind, _ help: String, _ value: Double) {
        family(name, kind, help)
        sample(name, [], value)
    }

    mutating func single(_ name: String, _ kind: Kind, _ help: String, _ value: some BinaryInteger) {
        family(name, kind, help)
        sample(name, [], value)
    }

    private mutating func sample(_ name: String, _ labels: [(String, String)], formatted: String) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { k, v in "\(k)=\"\(PrometheusText.escapeLabel(v))\"" }.joined(separator: ",") + "}"
        }
        text += " " + formatted + "\n"
    }

    /// `_bucket` lines (cumulative, ending with `le="+Inf"`), `_sum` and `_count`.
    mutating func histogram(_ name: String, _ labels: [(String, String)], _ h: Histogram) {
        var cumulative: UInt64 = 0
        for (i, b) in h.bounds.enumerated() {
            cumulative += h.counts[i]
            sample(name + "_bucket", labels + [("le", PrometheusText.format(b))], cumulative)
        }
        cumulative += h.counts[h.bounds.count]
        sample(name + "_bucket", labels + [("le", "+Inf")], cumulative)
        sample(name + "_sum", labels, h.sum)
        sample(name + "_count", labels, h.count)
    }

    static func escapeLabel(_ s: String) -> String {
        guard s.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return s }
        return escapeHelp(s).replacingOccurrences(of: "\"", with: "\\\"")
    }

    static func escapeHelp(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Go-style float text: `+Inf`, `-Inf`, `NaN`, integers without a fraction.
    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
