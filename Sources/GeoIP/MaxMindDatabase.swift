import CMaxMindDB
import Foundation
import GSLBCore

/// An open MaxMind DB file (libmaxminddb, memory-mapped). Immutable once open: a lookup reads only the mapped
/// file, from any thread, without a lock. Closed when the last snapshot holding it is gone (`deinit`), so a
/// database replaced on disk keeps answering the queries of the snapshots still in flight.
public final class MaxMindDatabase: GeoDatabase, @unchecked Sendable {
    // @unchecked: `mmdb` is written once by MMDB_open and then only read (libmaxminddb's lookups are
    // thread-safe on a shared MMDB_s); it is closed in deinit, when nothing can use it any more.
    private let mmdb: UnsafeMutablePointer<MMDB_s>
    public let path: String
    public let summary: String
    /// The file's identity when opened: a change of any of these is a new file to open.
    public let identity: FileIdentity

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// Opens `path` (at most `maxBytes`), or throws an error that names the file and what is wrong with it.
    public init(path: String, maxBytes: Int = GeoIPConfig.maxDatabaseBytes) throws {
        guard let id = FileIdentity(path: path) else { throw Error(description: "\(path): \(String(cString: strerror(errno)))") }
        guard id.size <= Int64(maxBytes) else {
            throw Error(description: "\(path): \(id.size) bytes; a GeoIP database has at most \(maxBytes) bytes")
        }
        let db = UnsafeMutablePointer<MMDB_s>.allocate(capacity: 1)
        let status = MMDB_open(path, UInt32(MMDB_MODE_MMAP), db)
        guard status == MMDB_SUCCESS else {
            db.deallocate()
            let why = status == MMDB_IO_ERROR ? String(cString: strerror(errno)) : String(cString: MMDB_strerror(status))
            throw Error(description: "\(path): not a usable MaxMind DB file: \(why)")
        }
        mmdb = db
        self.path = path
        identity = id
        let type = cairn_geo_database_type(db).map { String(cString: $0) } ?? "unknown type"
        let built = RFC3339.format(Double(cairn_geo_build_epoch(db)))
        summary = "\(path): \(type), IPv\(cairn_geo_ip_version(db)), built \(built)"
        // A database of IPv4 only answers IPv6 clients with "not found": nothing to check here.
    }

    deinit {
        MMDB_close(mmdb)
        mmdb.deallocate()
    }

    public func lookup(_ address: ClientAddress) -> GeoRecord {
        var out = cairn_geo_record()
        withUnsafeBytes(of: Self.bytes(address)) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            cairn_geo_lookup(mmdb, p, address.family == 4 ? 4 : 16, &out)
        }
        // An address the database cannot hold (IPv6 in an IPv4 database) is not found, prefix 0.
        guard out.status == MMDB_SUCCESS else { return GeoRecord(found: false, prefix: 0) }
        return GeoRecord(found: out.found, prefix: Int(out.netmask),
                         continent: Self.code(out.continent), country: Self.code(out.country),
                         subdivision: Self.code(out.subdivision),
                         location: out.has_location ? GeoPoint(lat: out.latitude, lon: out.longitude) : nil)
    }

    /// The address as 16 bytes in a tuple (no allocation): IPv4 in the first 4.
    @inline(__always)
    static func bytes(_ a: ClientAddress) -> (UInt64, UInt64) {
        if a.family == 4 { return (UInt64(UInt32(truncatingIfNeeded: a.lo).bigEndian), 0) }
        return (a.hi.bigEndian, a.lo.bigEndian)
    }

    /// A NUL-terminated code of up to 3 bytes as `GeoRecord` packs it; 0 when it has a byte a code cannot have.
    @inline(__always)
    static func code(_ c: (CChar, CChar, CChar, CChar)) -> UInt32 {
        @inline(__always) func ok(_ b: CChar) -> Bool { GeoRecord.isCodeByte(UInt8(bitPattern: b)) }
        guard c.0 != 0, ok(c.0) else { return 0 }
        var v = UInt32(UInt8(bitPattern: c.0))
        guard c.1 != 0 else { return v }
        guard ok(c.1) else { return 0 }
        v = v << 8 | UInt32(UInt8(bitPattern: c.1))
        guard c.2 != 0 else { return v }
        guard ok(c.2) else { return 0 }
        return v << 8 | UInt32(UInt8(bitPattern: c.2))
    }
}

/// What identifies the file at a path: replaced atomically (rename), its inode changes; rewritten in place,
/// its size or modification time does.
public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var mtimeNanos: Int64

    public init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
        mtimeNanos = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }
}
