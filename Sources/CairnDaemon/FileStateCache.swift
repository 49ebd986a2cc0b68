import Foundation
import GSLBConfigFile
import GSLBCore
import Logging
import SnapshotService
import Synchronization

/// The node's local cache of the last state it served (`--store-cache`): one JSON file, written to a temporary
/// file beside it (mode 0600: it holds the configuration, command monitors' argv included) and renamed over it.
/// The configuration is the `cairn export` text, read back by the `cairn apply` reader; health and overrides as
/// below. Saves run on a queue of their own, the latest state winning.
final class FileStateCache: StateCache {
    let path: String
    let logger: Logger
    private let queue = DispatchQueue(label: "cairn.store-cache")
    private let pending = Mutex<GSLBState?>(nil)
    private let failing = Atomic<Bool>(false)
    static let format = 1

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    struct File: Codable {
        struct Health: Codable {
            var pool, address, state: String
            var since: Double
            var load: Double?
        }
        struct Forced: Codable {
            var id: Int64?
            var scope, target, state, reason, principal: String
            var expiresAt: Double?
            var createdAt: Double
            var drillID: String?
        }
        var format: Int
        var savedAt: Double
        var config: String
        var health: [Health]
        var overrides: [Forced]
    }

    func save(_ state: GSLBState) {
        let first = pending.withLock { p -> Bool in
            defer { p = state }
            return p == nil
        }
        guard first else { return }
        queue.async { [self] in
            guard let latest = pending.withLock({ p -> GSLBState? in defer { p = nil }; return p }) else { return }
            write(latest)
        }
    }

    private func write(_ state: GSLBState) {
        let file = File(format: Self.format, savedAt: Date().timeIntervalSince1970, config: ConfigFile.encode(state.config),
                        health: state.health.map { .init(pool: $0.key.pool, address: $0.key.address, state: $0.state.rawValue,
                                                         since: $0.since, load: $0.load) },
                        overrides: state.overrides.map { .init(id: $0.id, scope: $0.scope.rawValue, target: $0.target, state: $0.state.rawValue,
                                                               reason: $0.reason, principal: $0.principal, expiresAt: $0.expiresAt,
                                                               createdAt: $0.createdAt, drillID: $0.drillID) })
        do {
            let data = try JSONEncoder().encode(file)
            let url = URL(fileURLWithPath: path)
            let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
            unlink(temp)
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: temp]) }
            let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            let synced = fsync(fd) == 0
            close(fd)
            guard written == data.count, synced, rename(temp, path) == 0 else {
                unlink(temp)
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            if failing.exchange(false, ordering: .relaxed) { logger.info("store cache \(path) written again", metadata: ["event": "store_cache.written"]) }
        } catch {
            if !failing.exchange(true, ordering: .relaxed) { logger.warning("cannot write the store cache \(path): \(error)", metadata: ["event": "store_cache.write_failed"]) }
        }
    }

    /// The largest cache file read (a configuration at the documented limits is far smaller).
    static let maxBytes = 256 << 20

    /// Read as root at start, from a file the service user writes: a link is not followed, only a regular file of at
    /// most `maxBytes` is read.
    func load() -> (state: GSLBState, savedAt: Double)? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno != ENOENT { logger.error("store cache \(path) is not usable: \(String(cString: strerror(errno)))", metadata: ["event": "store_cache.unusable"]) }
            return nil
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size <= Self.maxBytes else {
            logger.error("store cache \(path) is not usable: not a regular file of at most \(Self.maxBytes) bytes", metadata: ["event": "store_cache.unusable"])
            return nil
        }
        let data = FileHandle(fileDescriptor: fd, closeOnDealloc: false).readDataToEndOfFile()
        do {
            let file = try JSONDecoder().decode(File.self, from: data)
            guard file.format == Self.format else { throw DaemonError("format \(file.format), this binary reads \(Self.format)") }
            let config = try ConfigFile.decode(yaml: file.config)
                .mapError { issues in DaemonError(issues.map { "\($0)" }.joined(separator: "; ")) }.get()
            func value<E: RawRepresentable>(_ raw: String) throws -> E where E.RawValue == String {
                guard let v = E(rawValue: raw) else { throw DaemonError("unknown value \(raw)") }
                return v
            }
            let health = try file.health.map {
                MemberHealth(key: MemberKey(pool: $0.pool, address: $0.address), state: try value($0.state), since: $0.since, load: $0.load)
            }
            let overrides = try file.overrides.map {
                Override(id: $0.id, scope: try value($0.scope), target: $0.target, state: try value($0.state), reason: $0.reason,
                         principal: $0.principal, expiresAt: $0.expiresAt, createdAt: $0.createdAt, drillID: $0.drillID)
            }
            return (GSLBState(config: config, health: health, overrides: overrides), file.savedAt)
        } catch {
            logger.error("store cache \(path) is not usable: \(error)", metadata: ["event": "store_cache.unusable"])
            return nil
        }
    }
}
