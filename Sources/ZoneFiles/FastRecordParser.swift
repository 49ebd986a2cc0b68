import DNSWire
import GSLBCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads the common record types (A, AAAA, NS, CNAME, PTR, MX, TXT, SOA, SRV, CAA, DS)
/// from an entry cut by `EntryTokenizer`, giving exactly the record ldns's
/// `ldns_rr_new_frm_str` (1.8.3) gives for it, at a fraction of its cost.
///
/// It reads only the plain forms whose meaning in ldns is certain, and returns nil for
/// everything else, which `MasterFileReader` then hands to ldns record by record: another
/// type or class, a TTL with units (`1h2m`), numbers with signs or out of range
/// (ldns truncates them), algorithm mnemonics, names with characters other than letters,
/// digits, `-`, `_`, `*` and `/` (or an `@` that is not the whole name), empty or long
/// labels, long names, missing or extra fields, unquoted CAA values, odd hex digits,
/// quoted strings not followed by a blank, strings over 255 octets, a blank owner before
/// any owner, any entry without an origin. Errors are never reported here: an entry
/// ldns would refuse is one this reader returns nil for, so ldns reports it as before.
/// `ZoneReaderEquivalenceTests` compares both on every fixture and generated zone.
struct FastRecordParser {
    struct Parsed {
        var record: ResourceRecord
        var explicitTTL: Bool
    }

    /// The owner text and name of the previous record that named its owner, reused for
    /// the next one with the same text (consecutive records of one name share storage).
    private var lastOwnerText: [UInt8] = []
    private var lastOwner: DomainName?

    /// Forget the cached owner (its origin changed).
    mutating func originChanged() {
        lastOwnerText.removeAll(keepingCapacity: true)
        lastOwner = nil
    }

    /// The record in `e` (a trimmed entry, not a directive), or nil to let ldns read it.
    mutating func parse(_ e: UnsafeBufferPointer<UInt8>, origin: DomainName?, previous: DomainName?,
                        defaultTTL: UInt32) -> Parsed? {
        guard let origin, e.count <= 8192 else { return nil }
        var i = 0
        // Owner: the previous one when the entry starts with a blank.
        let owner: DomainName
        if Self.isSpace(e[0]) {
            guard let previous else { return nil }
            owner = previous
        } else {
            while i < e.count && !Self.isSpace(e[i]) { i += 1 }
            let text = UnsafeBufferPointer(rebasing: e[0..<i])
            if let lastOwner, text.elementsEqual(lastOwnerText) {
                owner = lastOwner
            } else {
                if text.count == 1 && text[0] == Self.at {
                    owner = origin
                } else {
                    guard let w = Self.nameWire(text, origin: origin) else { return nil }
                    owner = DomainName(uncheckedWire: w)
                }
                lastOwnerText.removeAll(keepingCapacity: true)
                lastOwnerText.append(contentsOf: text)
                lastOwner = owner
            }
        }

        // [TTL] [IN] TYPE or [IN] [TTL] TYPE.
        var ttl: UInt32?
        var sawClass = false
        var type: RecordType?
        while type == nil {
            guard let t = Self.nextToken(e, &i) else { return nil }
            let word = UnsafeBufferPointer(rebasing: e[t])
            if Self.isDigit(word[0]) {
                guard ttl == nil, let v = Self.number(word, max: UInt64(UInt32.max)) else { return nil }
                ttl = UInt32(v)
            } else if word.count == 2 && word[0] | 0x20 == UInt8(ascii: "i") && word[1] | 0x20 == UInt8(ascii: "n") {
                guard !sawClass else { return nil }
                sawClass = true
            } else {
                guard let known = Self.type(word) else { return nil }
                type = known
            }
        }
        guard let type else { return nil }
        var rdata: [UInt8] = []
        guard Self.rdata(type, e, from: i, origin: origin, into: &rdata) else { return nil }
        let record = ResourceRecord(name: owner, type: type, rclass: RecordClass.in, ttl: ttl ?? defaultTTL, rdata: rdata)
        return Parsed(record: record, explicitTTL: ttl != nil)
    }

    // MARK: - RDATA

    /// Appends the wire RDATA of `type` read from `e[from...]` to `out`; false when unsure.
    static func rdata(_ type: RecordType, _ e: UnsafeBufferPointer<UInt8>, from start: Int, origin: DomainName,
                      into out: inout [UInt8]) -> Bool {
        var i = start
        func word() -> UnsafeBufferPointer<UInt8>? {
            nextToken(e, &i).map { UnsafeBufferPointer(rebasing: e[$0]) }
        }
        func name() -> Bool {
            guard let w = word() else { return false }
            if w.count == 1 && w[0] == at { out.append(contentsOf: origin.wire); return true }
            return appendName(w, origin: origin, to: &out)
        }
        func int(_ max: UInt64, bytes: Int) -> Bool {
            guard let w = word(), let v = number(w, max: max) else { return false }
            for s in stride(from: (bytes - 1) * 8, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) }
            return true
        }
        var atEnd: Bool { var j = i; return nextToken(e, &j) == nil }

        switch type {
        case .a, .aaaa:
            guard let w = word(), w.count < 46, atEnd else { return false }
            return address(w, v6: type == .aaaa, into: &out)
        case .ns, .cname, .ptr:
            guard name() else { return false }
        case .mx:
            guard int(0xFFFF, bytes: 2), name() else { return false }
        case .srv:
            guard int(0xFFFF, bytes: 2), int(0xFFFF, bytes: 2), int(0xFFFF, bytes: 2), name() else { return false }
        case .soa:
            guard name(), name() else { return false }
            for _ in 0..<5 { guard int(UInt64(UInt32.max), bytes: 4) else { return false } }
        case .txt:
            var strings = 0
            while true {
                while i < e.count && isSpace(e[i]) { i += 1 }
                guard i < e.count else { break }
                guard let s = characterString(e, &i, max: 255) else { return false }
                out.append(UInt8(s.count))
                out.append(contentsOf: s)
                strings += 1
            }
            return strings > 0
        case .caa:
            guard int(0xFF, bytes: 1), let tag = word(), tag.count <= 255,
                  tag.allSatisfy({ isDigit($0) || isLetter($0) }) else { return false }
            out.append(UInt8(tag.count))
            out.append(contentsOf: tag)
            while i < e.count && isSpace(e[i]) { i += 1 }
            // ldns requires the value quoted.
            guard i < e.count, e[i] == quote, let v = characterString(e, &i, max: 65535) else { return false }
            out.append(contentsOf: v)
        case .ds:
            guard int(0xFFFF, bytes: 2), int(0xFF, bytes: 1), int(0xFF, bytes: 1) else { return false }
            var digits = 0
            var high: UInt8 = 0
            while let w = word() {
                for c in w {
                    guard let v = hexDigit(c) else { return false }
                    if digits & 1 == 0 { high = v << 4 } else { out.append(high | v) }
                    digits += 1
                }
            }
            return digits > 0 && digits & 1 == 0
        default:
            return false
        }
        return atEnd
    }

    /// A quoted string (no quote inside; followed by a blank or the end) or an unquoted
    /// word without quotes, at most `max` octets; `i` moves past it.
    static func characterString(_ e: UnsafeBufferPointer<UInt8>, _ i: inout Int, max: Int) -> UnsafeBufferPointer<UInt8>? {
        let s: Int, t: Int
        if e[i] == quote {
            s = i + 1
            var j = s
            while j < e.count && e[j] != quote { j += 1 }
            guard j < e.count else { return nil }
            t = j
            i = j + 1
            guard i == e.count || isSpace(e[i]) else { return nil }
        } else {
            s = i
            while i < e.count && !isSpace(e[i]) {
                if e[i] == quote { return nil }
                i += 1
            }
            t = i
        }
        guard t - s <= max else { return nil }
        return UnsafeBufferPointer(rebasing: e[s..<t])
    }

    /// inet_pton, the function ldns calls, on a copy of `w` ended by NUL.
    static func address(_ w: UnsafeBufferPointer<UInt8>, v6: Bool, into out: inout [UInt8]) -> Bool {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buf in
            _ = buf.initialize(fromContentsOf: w)
            buf[w.count] = 0
            var addr = (UInt64(0), UInt64(0))
            let ok = withUnsafeMutableBytes(of: &addr) { a in
                buf.withMemoryRebound(to: CChar.self) { inet_pton(v6 ? AF_INET6 : AF_INET, $0.baseAddress!, a.baseAddress!) }
            }
            guard ok == 1 else { return false }
            withUnsafeBytes(of: &addr) { out.append(contentsOf: $0.prefix(v6 ? 16 : 4)) }
            return true
        }
    }

    // MARK: - Names

    /// Wire form of a name as ldns reads it: relative to `origin` unless it ends with a
    /// dot; nil when unsure.
    static func nameWire(_ text: UnsafeBufferPointer<UInt8>, origin: DomainName) -> [UInt8]? {
        var w: [UInt8] = []
        w.reserveCapacity(text.count + origin.wire.count + 1)
        return appendName(text, origin: origin, to: &w) ? w : nil
    }

    static func appendName(_ text: UnsafeBufferPointer<UInt8>, origin: DomainName, to out: inout [UInt8]) -> Bool {
        guard !text.isEmpty, text.count <= 250 else { return false }
        if text.count == 1 && text[0] == dot { out.append(0); return true }
        let base = out.count
        var lengthAt = out.count
        out.append(0)
        var label = 0
        var absolute = false
        for (k, c) in text.enumerated() {
            if c == dot {
                guard label > 0, label <= 63 else { out.removeSubrange(base...); return false }
                out[lengthAt] = UInt8(label)
                label = 0
                if k == text.count - 1 { absolute = true; break }
                lengthAt = out.count
                out.append(0)
            } else {
                guard isNameByte(c) else { out.removeSubrange(base...); return false }
                out.append(c)
                label += 1
            }
        }
        if absolute {
            out.append(0)
        } else {
            guard label > 0, label <= 63 else { out.removeSubrange(base...); return false }
            out[lengthAt] = UInt8(label)
            out.append(contentsOf: origin.wire)
        }
        guard out.count - base <= 255 else { out.removeSubrange(base...); return false }
        return true
    }

    // MARK: - Tokens

    static let quote = UInt8(ascii: "\""), dot = UInt8(ascii: "."), at = UInt8(ascii: "@")

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
    @inline(__always) static func isNameByte(_ c: UInt8) -> Bool {
        isLetter(c) || isDigit(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: "*")
            || c == UInt8(ascii: "/")
    }

    /// The next blank-separated word from `i`, moving `i` past it; nil at the end.
    @inline(__always)
    static func nextToken(_ e: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> Range<Int>? {
        while i < e.count && isSpace(e[i]) { i += 1 }
        guard i < e.count else { return nil }
        let s = i
        while i < e.count && !isSpace(e[i]) { i += 1 }
        return s..<i
    }

    /// Decimal digits only, at most 10 of them, at most `max`.
    static func number(_ w: UnsafeBufferPointer<UInt8>, max: UInt64) -> UInt64? {
        guard !w.isEmpty, w.count <= 10 else { return nil }
        var v: UInt64 = 0
        for c in w {
            guard isDigit(c) else { return nil }
            v = v * 10 + UInt64(c - 0x30)
        }
        return v <= max ? v : nil
    }

    /// The types read here, by name (any case, as ldns compares them).
    static func type(_ w: UnsafeBufferPointer<UInt8>) -> RecordType? {
        guard w.count <= 5 else { return nil }
        var key: UInt64 = 0
        for c in w {
            guard isLetter(c) else { return nil }
            key = key << 8 | UInt64(c & ~0x20)
        }
        switch key {
        case 0x41: return .a
        case 0x4141_4141: return .aaaa
        case 0x4E53: return .ns
        case 0x43_4E41_4D45: return .cname
        case 0x50_5452: return .ptr
        case 0x4D58: return .mx
        case 0x54_5854: return .txt
        case 0x53_4F41: return .soa
        case 0x53_5256: return .srv
        case 0x43_4141: return .caa
        case 0x4453: return .ds
        default: return nil
        }
    }
}
