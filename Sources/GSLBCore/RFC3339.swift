import Foundation

/// RFC 3339 times (UTC, `Z`): the one formatter and parser of every time Cairn prints or reads (API fields,
/// the audit log, drill reports, command output and flags such as `--until`).
public enum RFC3339 {
    /// `2026-12-04T20:22:19.253Z`; without `fractional`, whole seconds (`2026-12-04T20:22:19Z`).
    public static func format(_ t: Double, fractional: Bool = true) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = fractional ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date(timeIntervalSince1970: t))
    }

    /// Unix seconds of an RFC 3339 time, with or without a fraction; nil when it is not one.
    public static func parse(_ s: String) -> Double? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d.timeIntervalSince1970 }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)?.timeIntervalSince1970
    }
}
