/// Maps byte offsets of a file to 1-based line numbers.
struct LineIndex {
    private let newlines: [Int]
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        var n: [Int] = []
        for (i, b) in bytes.enumerated() where b == 0x0A { n.append(i) }
        newlines = n
    }
    /// 1 + the number of newlines before `offset`.
    func line(at offset: Int) -> Int {
        var lo = 0, hi = newlines.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if newlines[mid] < offset { lo = mid + 1 } else { hi = mid }
        }
        return lo + 1
    }
}

/// What ldns consumed for one entry, read again from the file's bytes: the line
/// where the entry starts (ldns counts lines from the end of the previous entry, and
/// loses the newline after an extra `)`), and the syntax ldns accepts silently:
/// a `)` without `(`, a `(` never closed, a quoted string not closed on its line.
struct EntryScan {
    var firstLine: Int
    var problem: (line: Int, message: String)?

    init(_ b: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, lines: LineIndex) {
        var i = max(0, start)
        let end = min(end, b.count)
        // Skip blank space and comment lines before the entry.
        while i < end {
            let c = b[i]
            if EntryTokenizer.isBlank(c) {
                i += 1
            } else if c == UInt8(ascii: ";") {
                while i < end && b[i] != 0x0A { i += 1 }
            } else {
                break
            }
        }
        firstLine = lines.line(at: i)
        problem = nil
        var depth = 0, parenAt = 0
        var quoted = false, quoteAt = 0
        var comment = false
        while i < end {
            let c = b[i]
            if comment {
                if c == 0x0A { comment = false }
                i += 1
                continue
            }
            if c == 0x5C { i += 2; continue }
            if quoted {
                if c == UInt8(ascii: "\"") {
                    quoted = false
                } else if c == 0x0A && depth == 0 {
                    problem = (lines.line(at: quoteAt), "unterminated quoted string")
                    return
                }
                i += 1
                continue
            }
            switch c {
            case UInt8(ascii: "\""): quoted = true; quoteAt = i
            case UInt8(ascii: ";"): comment = true
            case UInt8(ascii: "("):
                if depth == 0 { parenAt = i }
                depth += 1
            case UInt8(ascii: ")"):
                depth -= 1
                if depth < 0 {
                    problem = (lines.line(at: i), "')' without a matching '('")
                    return
                }
            default: break
            }
            i += 1
        }
        if quoted {
            problem = (lines.line(at: quoteAt), "unterminated quoted string")
        } else if depth > 0 {
            problem = (lines.line(at: parenAt), "'(' is never closed by ')'")
        }
    }
}
