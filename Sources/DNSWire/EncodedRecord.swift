/// A record prepared at load time for fast writing: fixed fields pre-encoded,
/// RDATA names pre-split so that only compression happens per query.
public struct EncodedRecord: Sendable {
    public let type: RecordType
    public let rclass: UInt16
    public let ttl: UInt32
    /// The RDATA as stored (uncompressed).
    public let rdata: [UInt8]
    /// TYPE, CLASS, TTL (8 octets).
    let fixed: [UInt8]
    /// For types whose RDATA names may be compressed: the bytes before the
    /// names, the names, and the bytes after them. Empty names = write `rdata` as is.
    let prefix: [UInt8]
    let names: [DomainName]
    let suffix: [UInt8]
    /// For CNAME and DNAME: the target, parsed once at load time so that chasing
    /// a chain allocates nothing per query.
    public let target: DomainName?

    public init(_ rr: ResourceRecord) {
        self.init(type: rr.type, rclass: rr.rclass, ttl: rr.ttl, rdata: rr.rdata)
    }

    public init(type: RecordType, rclass: UInt16 = RecordClass.in, ttl: UInt32, rdata: [UInt8]) {
        self.type = type
        self.rclass = rclass
        self.ttl = ttl
        self.rdata = rdata
        fixed = [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), UInt8(rclass >> 8), UInt8(rclass & 0xff),
                 UInt8(ttl >> 24), UInt8((ttl >> 16) & 0xff), UInt8((ttl >> 8) & 0xff), UInt8(ttl & 0xff)]
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
            self.prefix = []
            self.names = []
            self.suffix = []
        }
    }

    /// The same record with another TTL (negative-answer SOA, synthesized data).
    public func withTTL(_ t: UInt32) -> EncodedRecord {
        EncodedRecord(type: type, rclass: rclass, ttl: t, rdata: rdata)
    }
}

extension MessageWriter {
    /// Writes `owner` + a prepared record. Returns false (writing nothing) when it does not fit.
    public func record(owner: DomainName, _ r: EncodedRecord) -> Bool {
        let m = mark
        guard name(owner), bytes(r.fixed), hasRoom(2) else { rollback(to: m); return false }
        let rdlenAt = position
        u16(0)
        if r.names.isEmpty {
            guard bytes(r.rdata) else { rollback(to: m); return false }
        } else {
            guard bytes(r.prefix) else { rollback(to: m); return false }
            for n in r.names { guard name(n) else { rollback(to: m); return false } }
            guard bytes(r.suffix) else { rollback(to: m); return false }
        }
        patch16(at: rdlenAt, UInt16(position - rdlenAt - 2))
        return true
    }
}
