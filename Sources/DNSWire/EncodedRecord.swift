/// A record prepared at load time for fast writing: RDATA names pre-split so that only compression
/// happens per query. Kept small (24 octets inline, the RDATA its one allocation): a zone of a million
/// records holds a million of them. TYPE, CLASS and TTL are written from their fields.
public struct EncodedRecord: Sendable {
    public let type: RecordType
    public let rclass: UInt16
    public let ttl: UInt32
    /// The RDATA as stored (uncompressed).
    public let rdata: [UInt8]
    /// For types whose RDATA names may be compressed (and for CNAME and DNAME, their target): nil for
    /// the others (A, AAAA, TXT, ...), which are written as `rdata`.
    let parts: RDataNames?

    /// For CNAME and DNAME: the target, parsed once at load time so that chasing
    /// a chain allocates nothing per query.
    @inline(__always)
    public var target: DomainName? { parts?.target }

    public init(_ rr: ResourceRecord) {
        self.init(type: rr.type, rclass: rr.rclass, ttl: rr.ttl, rdata: rr.rdata)
    }

    public init(type: RecordType, rclass: UInt16 = RecordClass.in, ttl: UInt32, rdata: [UInt8]) {
        self.type = type
        self.rclass = rclass
        self.ttl = ttl
        self.rdata = rdata
        self.parts = RDataNames(type: type, rdata: rdata)
    }

    /// The same record with another TTL (negative-answer SOA, synthesized data).
    public func withTTL(_ t: UInt32) -> EncodedRecord {
        EncodedRecord(type: type, rclass: rclass, ttl: t, rdata: rdata)
    }
}

/// The RDATA of a record with names in it, split for compression: the bytes before the names, the
/// names, the bytes after them (names empty: write `rdata` as is), and the CNAME or DNAME target.
final class RDataNames: Sendable {
    let prefix: [UInt8]
    let names: [DomainName]
    let suffix: [UInt8]
    let target: DomainName?

    /// Nil when the type has no such names and is no CNAME or DNAME (or the RDATA does not parse).
    init?(type: RecordType, rdata: [UInt8]) {
        if type == .cname || type == .dname, let (t, end) = ResourceRecord.readUncompressedName(rdata, at: 0), end == rdata.count {
            target = t
        } else {
            target = nil
        }
        let layout = type.rdataNames
        var names: [DomainName] = []
        var off = layout.fixedPrefix
        var ok = layout.compressible && layout.count > 0 && rdata.count >= layout.fixedPrefix
        if ok {
            for _ in 0..<layout.count {
                guard let (n, next) = ResourceRecord.readUncompressedName(rdata, at: off) else { ok = false; break }
                names.append(n)
                off = next
            }
        }
        if ok {
            self.prefix = Array(rdata[0..<layout.fixedPrefix])
            self.names = names
            self.suffix = Array(rdata[off...])
        } else {
            guard target != nil else { return nil }
            self.prefix = []
            self.names = []
            self.suffix = []
        }
    }
}

extension MessageWriter {
    /// Writes `owner` + a prepared record. Returns false (writing nothing) when it does not fit.
    public func record(owner: DomainName, _ r: EncodedRecord) -> Bool {
        guard let p = r.parts, !p.names.isEmpty else {
            return r.rdata.withUnsafeBytes { record(owner: owner, type: r.type, rclass: r.rclass, ttl: r.ttl, rdata: $0) }
        }
        let m = mark
        guard name(owner), hasRoom(10) else { rollback(to: m); return false }
        u16(r.type.rawValue)
        u16(r.rclass)
        u32(r.ttl)
        let rdlenAt = position
        u16(0)
        guard bytes(p.prefix) else { rollback(to: m); return false }
        for n in p.names { guard name(n) else { rollback(to: m); return false } }
        guard bytes(p.suffix) else { rollback(to: m); return false }
        patch16(at: rdlenAt, UInt16(position - rdlenAt - 2))
        return true
    }

    /// Writes `owner` + a record whose RDATA is written as it is (no names to compress: an address, or any
    /// record without `parts`). Returns false (writing nothing) when it does not fit.
    public func record(owner: DomainName, type: RecordType, rclass: UInt16 = RecordClass.in, ttl: UInt32,
                       rdata: UnsafeRawBufferPointer) -> Bool {
        let m = mark
        guard name(owner), hasRoom(10 + rdata.count) else { rollback(to: m); return false }
        u16(type.rawValue)
        u16(rclass)
        u32(ttl)
        u16(UInt16(rdata.count))
        return bytes(rdata)
    }
}
