/// Text as Cairn quotes it in every message (validation errors, probe details, logs): in double quotes, with
/// `"`, `\\` and control characters escaped (what an operator typed or a peer sent cannot break a log line or
/// forge one), cut at `limit` characters with `…`.
public func quoted(_ s: String, limit: Int = .max) -> String {
    var out = "\""
    for (i, ch) in s.unicodeScalars.enumerated() {
        if i == limit { out += "…"; break }
        switch ch {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\r": out += "\\r"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if ch.value < 0x20 || ch.value == 0x7f { out += "\\x" + String(ch.value, radix: 16) } else { out.unicodeScalars.append(ch) }
        }
    }
    return out + "\""
}
