/// Text as Cairn quotes it in every message (validation errors, probe details, logs): in double quotes, with
/// `"`, `\\` and control characters escaped (what an operator typed or a peer sent cannot break a log line or
/// forge one), cut at `limit` characters with `…`.
public func quoted(_ s: String, limit: Int = .max) -> String {
    doubleQuoted(s, limit: limit) { $0.value < 0x20 || $0.value == 0x7f ? "\\x" + String($0.value, radix: 16) : nil }
}

/// The one escaping loop of double-quoted text (messages, JSON strings, YAML double-quoted scalars): `"` and `\\`
/// escaped, newline, carriage return and tab by name, every other scalar as `escape` writes it (nil: as it is).
public func doubleQuoted(_ s: String, limit: Int = .max, _ escape: (Unicode.Scalar) -> String?) -> String {
    var out = "\""
    for (i, u) in s.unicodeScalars.enumerated() {
        if i == limit { out += "…"; break }
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\r": out += "\\r"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default: if let e = escape(u) { out += e } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

/// `\u001f`: a scalar as JSON and YAML spell it by number.
public func unicodeEscape(_ u: Unicode.Scalar) -> String {
    let h = String(u.value, radix: 16)
    return "\\u" + String(repeating: "0", count: max(0, 4 - h.count)) + h
}
