/// One entry of a master file cut out of its bytes exactly as ldns's
/// `ldns_fget_token_l_st` (1.8.3, delimiters `\f\n\r\v`, as `MasterFileReader` calls it)
/// cuts it, without going through a `FILE`: parentheses dropped and the newlines inside
/// them turned into spaces, comments dropped, `\r` turned into a space, the entry ended
/// by a newline outside parentheses, the newlines after it skipped.
///
/// It only cuts the entries it can cut with certainty, and says `nil` for the others,
/// which `MasterFileReader` then hands to ldns's tokenizer from the same offset:
/// a backslash outside a comment (escapes change how quotes, parentheses and `;` count),
/// a NUL, `\f` or `\v`, a `)` without `(`, a `(` or a quote still open at the end of the
/// entry or of the file, a newline inside quotes. Those are also every case where
/// `EntryScan` reports a problem, so an entry cut here never needs it.
struct EntryTokenizer {
    /// The entry just cut (ldns's token), reused from one entry to the next.
    private(set) var token: [UInt8] = []

    struct Cut {
        /// Offset just past the entry and the newlines that follow it (ldns's `ftell`).
        var end: Int
        /// Newlines before the entry's first significant byte (`EntryScan.firstLine`),
        /// and in the whole cut.
        var newlinesBefore: Int
        var newlines: Int
        /// ldns's status: false when the token is empty (`LDNS_STATUS_SYNTAX_EMPTY`).
        var hasToken: Bool
    }

    /// Cuts the entry that starts at `start` into `token`; nil when only ldns can.
    mutating func cut(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Cut? {
        token.removeAll(keepingCapacity: true)
        let n = b.count
        var k = start
        var depth = 0
        var comment = false, quoted = false
        var count = 0  // ldns's `i`: bytes taken into the token
        var newlines = 0
        var newlinesBefore = -1
        var ended = false
        while k < n {
            var c = b[k]
            k += 1
            if comment {
                if c == 0x0A {
                    newlines += 1
                    comment = false
                    if depth == 0 && count > 0 { ended = true; break }
                }
                continue
            }
            if newlinesBefore < 0 && !Self.isBlank(c) && c != UInt8(ascii: ";") { newlinesBefore = newlines }
            switch c {
            case 0x5C, 0x00, 0x0C, 0x0B: return nil
            case 0x0D: c = 0x20
            default: break
            }
            if !quoted {
                if c == UInt8(ascii: "(") { depth += 1; continue }
                if c == UInt8(ascii: ")") {
                    guard depth > 0 else { return nil }
                    depth -= 1
                    continue
                }
                if c == UInt8(ascii: ";") { comment = true; continue }
            }
            if c == UInt8(ascii: "\"") { quoted.toggle() }
            if c == 0x0A {
                newlines += 1
                if quoted { return nil }
                if depth > 0 {
                    if !token.isEmpty { token.append(0x20) }
                    continue
                }
                if count > 0 { ended = true; break }
                continue
            }
            count += 1
            token.append(c)
        }
        if !ended {
            // The end of the file: a parenthesis or quote still open is an error ldns and
            // EntryScan report.
            if depth > 0 || quoted { return nil }
        } else {
            // ldns_fskipcs_l: the delimiters after the entry.
            while k < n {
                let c = b[k]
                if c == 0x0A { newlines += 1 } else if c != 0x0D {
                    if c == 0x0C || c == 0x0B { return nil }
                    break
                }
                k += 1
            }
        }
        return Cut(end: k, newlinesBefore: newlinesBefore < 0 ? newlines : newlinesBefore, newlines: newlines,
                   hasToken: count > 0)
    }

    /// The blank bytes `EntryScan` skips before an entry.
    @inline(__always)
    static func isBlank(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C || c == 0x0B
    }

    /// The token without trailing blanks (`MasterFileReader.trimmed`: no backslash can
    /// escape one here); empty when it is all blank.
    var trimmedEnd: Int {
        var hi = token.count
        while hi > 0 && Self.isBlank(token[hi - 1]) { hi -= 1 }
        return hi
    }
}
