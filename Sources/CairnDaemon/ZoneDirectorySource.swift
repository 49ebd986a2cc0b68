import DNSWire
import Foundation
import GSLBCore
import Synchronization
import ZoneFiles

/// The composition root's adapter: `zones/` read through ldns (ZoneFiles).
///
/// It remembers each zone file it loaded (and each file that zone `$INCLUDE`s) by size and a hash of its
/// bytes: `loadChangedZones()` reports a zone whose files all have the same size and hash as unchanged
/// instead of handing its records over again, and reads nothing when every zone is unchanged.
public struct ZoneDirectorySource: ZoneSource {
    public let directory: String
    private let seen = FileFingerprints()

    public init(directory: String) { self.directory = directory }

    public func loadZones() -> ZoneLoadResult {
        load(unchanged: [])
    }

    public func loadChangedZones() -> ZoneLoadResult {
        guard let files = try? ZoneDirectory.zoneFiles(in: directory).map(\.path) else { return loadZones() }
        let unchanged = Set(files.filter { seen.unchanged(zoneFile: $0) })
        if unchanged.count == files.count {
            return ZoneLoadResult(zones: [], failures: [], unchanged: files.compactMap(Self.origin(forFile:)))
        }
        // ZoneDirectory reads the whole directory: the unchanged zones' records are dropped at once.
        return load(unchanged: unchanged)
    }

    /// Reads every zone; those whose file is in `unchanged` are reported unchanged, not handed over.
    private func load(unchanged: Set<String>) -> ZoneLoadResult {
        let before = Dictionary(uniqueKeysWithValues: ((try? ZoneDirectory.zoneFiles(in: directory)) ?? []).map { ($0.path, FileFingerprint(path: $0.path)) })
        let r = ZoneDirectory.report(directory: directory)
        var zones: [ZoneContent] = []
        var same: [DomainName] = []
        var loaded: [String: [FileFingerprint?]] = [:]
        for var z in r.zones {
            // The files of the zone's records: runs of one file, so only where a run starts is it hashed.
            var files = Set<String>()
            var last: String?
            for f in z.files where f != last { files.insert(f); last = f }
            let includes = files.subtracting([z.source]).sorted()
            loaded[z.source] = [before[z.source] ?? nil] + includes.map { FileFingerprint(path: $0) }
            // Each record's line and file served the checks, which are done: not held while the zone is indexed
            // (25 MiB for 1,050,003 records).
            z.lines = []
            z.files = []
            if unchanged.contains(z.source) { same.append(z.origin) } else { zones.append(z) }
        }
        seen.replace(with: loaded)
        return ZoneLoadResult(zones: zones, failures: r.errors.map { e in
            ZoneLoadResult.Failure(origin: ZoneDirectorySource.origin(forFile: e.zoneFile ?? e.file), message: e.description)
        }, complete: r.listed, unchanged: same)
    }

    /// `dir/example.com.zone` → `example.com.`
    public static func origin(forFile path: String) -> DomainName? {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        guard base.hasSuffix(".zone") else { return nil }
        return try? DomainName(String(base.dropLast(5)) + ".")
    }
}

/// A file as last read: its size and a 64-bit hash of its bytes (its modification time is no test: a file
/// written again with the same bytes is unchanged, and one changed within the clock's resolution is not).
struct FileFingerprint: Hashable, Sendable {
    let path: String
    let size: Int
    let hash: UInt64

    /// The file as it is now; nil when it cannot be read.
    init?(path: String) {
        var st = stat()
        // Mapped, not read into the heap: the pages of a 32 MB zone file read to be hashed stayed resident after
        // a reload that found it unchanged (docs/benchmarks.md); a mapping's go when it is dropped.
        guard stat(path, &st) == 0, let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return nil }
        self.path = path
        size = Int(st.st_size)
        hash = FileFingerprint.hash(data)
    }

    /// FNV-1a over 8-octet words with a final mix: a change of any octet changes it.
    static func hash(_ data: Data) -> UInt64 {
        data.withUnsafeBytes { raw -> UInt64 in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(raw.count)
            var i = 0
            while i + 8 <= raw.count {
                h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x0000_0100_0000_01b3
                h ^= h >> 29
                i += 8
            }
            while i < raw.count {
                h = (h ^ UInt64(raw[i])) &* 0x0000_0100_0000_01b3
                i += 1
            }
            h ^= h >> 33
            h = h &* 0xff51_afd7_ed55_8ccd
            return h ^ (h >> 33)
        }
    }
}

/// The fingerprints of the zone files last loaded (each with its `$INCLUDE`d files), by zone file path.
final class FileFingerprints: Sendable {
    private let byZoneFile = Mutex<[String: [FileFingerprint?]]>([:])

    /// True when `path` was loaded and it and every file it included are as they were then.
    func unchanged(zoneFile path: String) -> Bool {
        guard let last = byZoneFile.withLock({ $0[path] }), !last.isEmpty, !last.contains(nil) else { return false }
        return last.allSatisfy { fp in fp.map { $0 == FileFingerprint(path: $0.path) } ?? false }
    }

    func replace(with loaded: [String: [FileFingerprint?]]) {
        byZoneFile.withLock { $0 = loaded }
    }
}
