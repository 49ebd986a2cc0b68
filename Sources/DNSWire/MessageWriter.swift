/// Writes a DNS message into a caller-owned buffer with name compression
/// (RFC 1035 §4.1.4). One writer per worker thread, reset for every message:
/// no allocation per query.
public final class MessageWriter {
    public private(set) var buffer: UnsafeMutableRawBufferPointer
    public private(set) var position: Int = 0
    /// Writes beyond this size fail (the caller then truncates).
    public var limit: Int

    // Offsets of label starts already in the message, candidates for pointers.
    private var entries: UnsafeMutablePointer<UInt16>
    private let maxEntries = 128
    public private(set) var entryCount = 0

    public init() {
        buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        limit = 0
        entries = UnsafeMutablePointer<UInt16>.allocate(capacity: 128)
    }

    deinit { entries.deallocate() }

    public func reset(buffer: UnsafeMutableRawBufferPointer, limit: Int) {
        self.buffer = buffer
        self.limit = min(limit, buffer.count)
        position = 0
        entryCount = 0
    }

    /// A point to roll back to when a record set does not fit.
    public struct Mark { let position: Int; let entries: Int }
    public var mark: Mark { Mark(position: position, entries: entryCount) }
    public func rollback(to m: Mark) { position = m.position; entryCount = m.entries }

    @inline(__always) public func hasRoom(_ n: Int) -> Bool { position + n <= limit }

    @inline(__always) public func u8(_ v: UInt8) { buffer[position] = v; position += 1 }
    @inline(__always) public func u16(_ v: UInt16) {
        buffer[position] = UInt8(v >> 8); buffer[position + 1] = UInt8(truncatingIfNeeded: v); position += 2
    }
    @inline(__always) public func u32(_ v: UInt32) {
        buffer[position] = UInt8(v >> 24); buffer[position + 1] = UInt8(truncatingIfNeeded: v >> 16)
        buffer[position + 2] = UInt8(truncatingIfNeeded: v >> 8); buffer[position + 3] = UInt8(truncatingIfNeeded: v)
        position += 4
    }
    @inline(__always) public func patch16(at o: Int, _ v: UInt16) {
        buffer[o] = UInt8(v >> 8); buffer[o + 1] = UInt8(truncatingIfNeeded: v)
    }
    public func bytes(_ b: [UInt8]) -> Bool {
        b.withUnsafeBytes { bytes($0) }
    }
    public func bytes(_ src: UnsafeRawBufferPointer) -> Bool {
        guard hasRoom(src.count) else { return false }
        if let base = src.baseAddress, let dst = buffer.baseAddress {
            (dst + position).copyMemory(from: base, byteCount: src.count)
        }
        position += src.count
        return true
    }

    public func header(id: UInt16, flags: UInt16) {
        position = 0
        entryCount = 0
        u16(id); u16(flags); u16(0); u16(0); u16(0); u16(0)
    }

    public func setCounts(qd: Int, an: Int, ns: Int, ar: Int) {
        patch16(at: 4, UInt16(qd)); patch16(at: 6, UInt16(an)); patch16(at: 8, UInt16(ns)); patch16(at: 10, UInt16(ar))
    }

    /// Writes the question exactly as the client sent the name (case preserved).
    public func question(_ name: DomainName, type: UInt16, qclass: UInt16) -> Bool {
        guard hasRoom(name.wire.count + 4) else { return false }
        let start = position
        _ = bytes(name.wire)
        addEntries(name: name, at: start, upTo: name.wire.count)
        u16(type); u16(qclass)
        return true
    }

    /// Writes a name, compressed against what the message holds when `compress`.
    public func name(_ n: DomainName, compress: Bool = true) -> Bool {
        let key = n.key
        if compress && entryCount > 0 {
            // Try each suffix, longest first.
            var s = 0
            while key[s] != 0 {
                if let target = findSuffix(key, from: s) {
                    guard hasRoom(s + 2) else { return false }
                    let start = position
                    writeWire(n.wire, count: s)
                    addEntries(name: n, at: start, upTo: s)
                    u16(0xC000 | UInt16(target))
                    return true
                }
                s += Int(key[s]) + 1
            }
        }
        guard hasRoom(n.wire.count) else { return false }
        let start = position
        writeWire(n.wire, count: n.wire.count)
        if compress { addEntries(name: n, at: start, upTo: n.wire.count - 1) }
        return true
    }

    @inline(__always) private func writeWire(_ w: [UInt8], count: Int) {
        guard count > 0 else { return }
        w.withUnsafeBytes { src in
            (buffer.baseAddress! + position).copyMemory(from: src.baseAddress!, byteCount: count)
        }
        position += count
    }

    private func addEntries(name n: DomainName, at start: Int, upTo end: Int) {
        var i = 0
        let w = n.wire
        while i < end && w[i] != 0 {
            let off = start + i
            if off < 0x3FFF && entryCount < maxEntries { entries[entryCount] = UInt16(off); entryCount += 1 }
            i += Int(w[i]) + 1
        }
    }

    /// An entry whose name equals key[from...] (case-insensitively), if any.
    private func findSuffix(_ key: [UInt8], from s: Int) -> Int? {
        for e in 0..<entryCount {
            let off = Int(entries[e])
            if matches(key, from: s, at: off) { return off }
        }
        return nil
    }

    private func matches(_ key: [UInt8], from s: Int, at off: Int) -> Bool {
        var k = s
        var p = off
        var hops = 0
        while true {
            var l = Int(buffer[p])
            while l & 0xC0 == 0xC0 {
                p = (l & 0x3F) << 8 | Int(buffer[p + 1])
                hops += 1
                if hops > 64 { return false }
                l = Int(buffer[p])
            }
            if l != Int(key[k]) { return false }
            if l == 0 { return true }
            for i in 1...l {
                var c = buffer[p + i]
                if c >= 65 && c <= 90 { c |= 0x20 }
                if c != key[k + i] { return false }
            }
            p += l + 1
            k += l + 1
        }
    }

    /// Writes an OPT record with the given options (already encoded as code,len,data).
    public func opt(udpSize: UInt16, extendedRcode: UInt8, dnssecOK: Bool, options: [UInt8]) -> Bool {
        guard hasRoom(11 + options.count) else { return false }
        u8(0); u16(RecordType.opt.rawValue); u16(udpSize); u8(extendedRcode); u8(0)
        u16(dnssecOK ? 0x8000 : 0); u16(UInt16(options.count))
        return bytes(options)
    }
}
