/// A domain name held as uncompressed wire-format labels (case preserved) plus a
/// lower-cased copy used for comparison and hashing (RFC 4343: names compare
/// case-insensitively, case is preserved).
public struct DomainName: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Uncompressed wire form, original case, ending with the root label (0).
    public let wire: [UInt8]
    /// The same bytes with ASCII letters lower-cased: the comparison and lookup key.
    public let key: [UInt8]

    public static let root = DomainName(uncheckedWire: [0])

    /// Builds a name from wire bytes already known to be valid.
    public init(uncheckedWire wire: [UInt8]) {
        self.wire = wire
        self.key = DomainName.lowercased(wire)
    }

    /// Builds a name from wire bytes, validating label lengths and total length.
    public init(wire: [UInt8]) throws(WireError) {
        var i = 0
        while true {
            guard i < wire.count else { throw WireError.badName("name runs past its end") }
            let l = Int(wire[i])
            if l == 0 {
                guard i == wire.count - 1 else { throw WireError.badName("bytes after the root label") }
                break
            }
            guard l <= 63 else { throw WireError.badName("label longer than 63 octets") }
            i += 1 + l
        }
        guard wire.count <= 255 else { throw WireError.badName("name longer than 255 octets") }
        self.init(uncheckedWire: wire)
    }

    /// Parses presentation format (`www.example.com.`, escapes `\.` and `\DDD`).
    /// A name without a trailing dot is made relative to `origin` (root if nil).
    public init(_ text: String, origin: DomainName? = nil) throws(WireError) {
        if text == "@" {
            guard let origin else { throw WireError.badName("@ without an origin") }
            self = origin
            return
        }
        if text == "." { self = .root; return }
        var out: [UInt8] = []
        var label: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        var absolute = false
        func flush() throws(WireError) {
            guard !label.isEmpty else { throw WireError.badName("empty label in \"\(text)\"") }
            guard label.count <= 63 else { throw WireError.badName("label longer than 63 octets in \"\(text)\"") }
            out.append(UInt8(label.count))
            out.append(contentsOf: label)
            label.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\\") {
                guard i + 1 < bytes.count else { throw WireError.badName("dangling backslash in \"\(text)\"") }
                let n = bytes[i + 1]
                if n >= 0x30 && n <= 0x39 {
                    guard i + 3 < bytes.count else {
                        throw WireError.badName("short \\DDD escape in \"\(text)\"")
                    }
                    let d = bytes[(i + 1)...(i + 3)]
                    var v = 0
                    for x in d {
                        guard x >= 0x30 && x <= 0x39 else { throw WireError.badName("bad \\DDD escape in \"\(text)\"") }
                        v = v * 10 + Int(x - 0x30)
                    }
                    guard v <= 255 else { throw WireError.badName("\\DDD escape above 255 in \"\(text)\"") }
                    label.append(UInt8(v))
                    i += 4
                } else {
                    label.append(n)
                    i += 2
                }
                continue
            }
            if c == UInt8(ascii: ".") {
                try flush()
                if i == bytes.count - 1 { absolute = true }
                i += 1
                continue
            }
            label.append(c)
            i += 1
        }
        if !label.isEmpty { try flush() }
        if !absolute, let origin {
            out.append(contentsOf: origin.wire)
        } else {
            out.append(0)
        }
        guard out.count <= 255 else { throw WireError.badName("name longer than 255 octets: \"\(text)\"") }
        self.init(uncheckedWire: out)
    }

    @inline(__always)
    public static func lowercased(_ w: [UInt8]) -> [UInt8] {
        var k = w
        // Label length octets are <= 63 and never in 'A'...'Z' (65...90).
        for i in 0..<k.count where k[i] >= 65 && k[i] <= 90 { k[i] |= 0x20 }
        return k
    }

    public static func == (a: DomainName, b: DomainName) -> Bool { a.key == b.key }
    /// The key's bytes as one block: `Array`'s own `hash(into:)` feeds the hasher one octet at a time,
    /// which was most of the cost of the sets and dictionaries of names a zone load builds. Wire names
    /// are prefix-free (each ends with the root label), so the bytes alone tell two names apart.
    public func hash(into h: inout Hasher) { key.withUnsafeBytes { h.combine(bytes: $0) } }

    /// Canonical DNS order (RFC 4034 §6.1).
    public static func < (a: DomainName, b: DomainName) -> Bool {
        let la = a.labelKeys, lb = b.labelKeys
        var i = la.count - 1, j = lb.count - 1
        while i >= 0 && j >= 0 {
            if la[i] != lb[j] { return la[i].lexicographicallyPrecedes(lb[j]) }
            i -= 1; j -= 1
        }
        return la.count < lb.count
    }

    public var isRoot: Bool { wire.count == 1 }

    /// Number of labels, not counting the root.
    public var labelCount: Int {
        var n = 0, i = 0
        while wire[i] != 0 { n += 1; i += Int(wire[i]) + 1 }
        return n
    }

    /// Lower-cased labels from left to right (without the root).
    public var labelKeys: [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var i = 0
        while key[i] != 0 { let l = Int(key[i]); out.append(key[(i + 1)..<(i + 1 + l)]); i += l + 1 }
        return out
    }

    public var isWildcard: Bool { wire.count >= 2 && wire[0] == 1 && wire[1] == UInt8(ascii: "*") }

    /// The name without its first label (root stays root).
    public var parent: DomainName {
        if isRoot { return self }
        return DomainName(uncheckedWire: Array(wire[(Int(wire[0]) + 1)...]))
    }

    /// True when self equals `other` or lies below it.
    public func isSubdomain(of other: DomainName) -> Bool {
        let k = key, o = other.key
        guard k.count >= o.count else { return false }
        let off = k.count - o.count
        // Must start at a label boundary.
        var i = 0
        while i < off { i += Int(k[i]) + 1 }
        guard i == off else { return false }
        return k[off...].elementsEqual(o)
    }

    /// Replaces the suffix `old` (which self must be under) with `new` (DNAME substitution).
    /// Returns nil when the result would exceed 255 octets.
    public func replacingSuffix(_ old: DomainName, with new: DomainName) -> DomainName? {
        let prefixLen = wire.count - old.wire.count
        let w = Array(wire[0..<prefixLen]) + new.wire
        guard w.count <= 255 else { return nil }
        return DomainName(uncheckedWire: w)
    }

    /// Presentation format with RFC 1035 escapes, always absolute.
    public var description: String {
        if isRoot { return "." }
        var s = ""
        var i = 0
        while wire[i] != 0 {
            let l = Int(wire[i])
            for b in wire[(i + 1)...(i + l)] {
                switch b {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "("),
                     UInt8(ascii: ")"), UInt8(ascii: ";"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                    s.append("\\"); s.append(Character(Unicode.Scalar(b)))
                case 0x21...0x7e:
                    s.append(Character(Unicode.Scalar(b)))
                default:
                    s.append("\\" + threeDigits(Int(b)))
                }
            }
            s.append(".")
            i += l + 1
        }
        return s
    }
}

func threeDigits(_ v: Int) -> String {
    let d = String(v)
    return d.count >= 3 ? d : String(repeating: "0", count: 3 - d.count) + d
}
