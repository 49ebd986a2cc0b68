import Foundation

/// A length of time as operators write it everywhere in Cairn: file keys (`interval`, `timeout`, `rto`), API
/// fields (`expires_in`, `hold`, `since`) and command-line flags (`--expires`, `--for`, `--hold`, `--timeout`).
/// A non-negative decimal number (digits, an optional fraction, an optional exponent) and a unit: `ms`, `s`,
/// `m`, `h`, `d` or `w` (`500ms`, `30s`, `1.5h`, `30d`, `1w`). The one parser and the one formatter.
public struct TimeSpan: Hashable, Sendable, CustomStringConvertible {
    public enum Unit: String, CaseIterable, Sendable {
        case ms, s, m, h, d, w

        public var milliseconds: Int {
            switch self {
            case .ms: 1
            case .s: 1000
            case .m: 60_000
            case .h: 3_600_000
            case .d: 86_400_000
            case .w: 604_800_000
            }
        }
    }

    /// The number as written.
    public let number: String
    public let unit: Unit

    /// What every parser of a duration says when it is not one.
    public static let expected = "a duration such as 500ms, 30s, 15m, 2h, 30d or 1w"

    /// Parses `text` (surrounding white space ignored, units in any case); nil when it is not a duration.
    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: CharacterSet(charactersIn: " \t")).lowercased()
        // Longest unit first: "ms" before "m" and "s".
        guard let unit = Unit.allCases.sorted(by: { $0.rawValue.count > $1.rawValue.count })
                .first(where: { t.hasSuffix($0.rawValue) }) else { return nil }
        let n = String(t.dropLast(unit.rawValue.count))
        guard let first = n.utf8.first, first >= 0x30 && first <= 0x39,
              n.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) || JSONValue.isNumberText(n) else { return nil }
        number = n
        self.unit = unit
    }

    public var description: String { number + unit.rawValue }

    /// In seconds; nil when it does not fit a finite Double.
    public var seconds: Double? {
        guard let v = Double(number) else { return nil }
        // One rounding at most: `1e-09s` reads back as exactly 1e-09.
        let s = unit == .ms ? v / 1000 : v * Double(unit.milliseconds / 1000)
        return s.isFinite ? s : nil
    }

    /// In milliseconds, exactly: nil when the number has an exponent, the result is not whole, or it overflows.
    public var wholeMilliseconds: Int? {
        guard !number.contains("e") else { return nil }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        let intPart = String(parts[0])
        let frac = parts.count > 1 ? String(parts[1]) : ""
        guard intPart.count <= 12, frac.count <= 9, let i = Int(intPart), let fr = Int(frac.isEmpty ? "0" : frac) else { return nil }
        var scale = 1
        for _ in 0..<frac.count { scale *= 10 }
        let (total, overflow) = (i * scale + fr).multipliedReportingOverflow(by: unit.milliseconds)
        guard !overflow, total % scale == 0 else { return nil }
        return total / scale
    }

    /// Seconds of a duration's text, or nil: the shorthand of every caller that needs only the value.
    public static func seconds(_ text: String) -> Double? { TimeSpan(text)?.seconds }

    /// Seconds of a duration's text when more than zero (a hold, an expiry), else nil.
    public static func positiveSeconds(_ text: String) -> Double? { seconds(text).flatMap { $0 > 0 ? $0 : nil } }

    /// The text of a whole number of milliseconds: the largest of `h`, `m`, `s` that is exact, else `ms`
    /// (`1500ms`, `30s`, `2m`, `48h`). Days and weeks are read, not written, so what Cairn prints stays as it was.
    public static func text(milliseconds ms: Int) -> String {
        for unit in [Unit.h, .m, .s] where ms > 0 && ms % unit.milliseconds == 0 {
            return "\(ms / unit.milliseconds)\(unit.rawValue)"
        }
        return "\(ms)ms"
    }

    /// The text of a number of seconds: as `text(milliseconds:)` when it is a whole number of milliseconds that
    /// reads back as the same seconds, else the seconds as Swift prints them with `s`.
    public static func text(seconds: Double) -> String {
        let ms = seconds * 1000
        if seconds.isFinite, seconds >= 0, ms == ms.rounded(), ms < 1e15 {
            let candidate = text(milliseconds: Int(ms))
            if TimeSpan(candidate)?.seconds == seconds { return candidate }
        }
        return "\(seconds)s"
    }
}
