import Foundation
import GSLBCore
import Logging
import SnapshotService
import Synchronization

/// The GeoIP database of the configuration, confined to one directory (`cairn serve --geoip-dir`: a `write`
/// token names a file there, never elsewhere), opened again when its file is replaced (atomic rename or a
/// rewrite: its inode, size or modification time changed). A file that does not open keeps the last good
/// database serving, with one error in the log per bad file (not one per poll).
public final class GeoDatabaseSource: GeoDatabaseProvider {
    public let directory: String
    let logger: Logger
    let maxBytes: Int

    struct State {
        var current: MaxMindDatabase?
        /// The file that last failed, so that it is not tried (and logged) again until it changes.
        var failed: (path: String, identity: FileIdentity?)?
        var lastError: String?
    }
    private let state = Mutex<State>(State())

    public init(directory: String, maxBytes: Int = GeoIPConfig.maxDatabaseBytes, logger: Logger = Logger(label: "cairn.geoip")) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.logger = logger
    }

    /// The last open error (nil when the file in use opened), for `/readyz` and the tests.
    public var lastError: String? { state.withLock { $0.lastError } }

    /// `name` inside `directory`: a relative name is joined to it; an absolute path must lie inside it.
    /// The file's real path (links resolved) must lie inside the directory's real path too.
    public func resolve(_ name: String) throws -> String {
        let joined = name.hasPrefix("/") ? name : (directory as NSString).appendingPathComponent(name)
        let dir = URL(fileURLWithPath: directory).resolvingSymlinksInPath().standardizedFileURL.path
        let real = URL(fileURLWithPath: joined).resolvingSymlinksInPath().standardizedFileURL.path
        guard real.hasPrefix(dir.hasSuffix("/") ? dir : dir + "/") else {
            throw MaxMindDatabase.Error(description: "\(name): outside the GeoIP directory \(directory) (cairn serve --geoip-dir)")
        }
        return joined
    }

    public func database(for config: GeoIPConfig?) -> GeoDatabaseRef? {
        state.withLock { st in
            guard let config else {
                if let old = st.current { logger.info("geoip database \(old.path) no longer configured: closed once unused", metadata: ["event": "geoip.unconfigured"]) }
                st.current = nil; st.failed = nil; st.lastError = nil
                return nil
            }
            let path: String
            do { path = try resolve(config.database) } catch {
                fail(&st, path: config.database, identity: nil, "\(error)")
                return st.current.map(GeoDatabaseRef.init)
            }
            let identity = FileIdentity(path: path)
            if let cur = st.current, cur.path == path, cur.identity == identity { return GeoDatabaseRef(cur) }
            if let f = st.failed, f.path == path, f.identity == identity { return st.current.map(GeoDatabaseRef.init) }
            do {
                let db = try MaxMindDatabase(path: path, maxBytes: maxBytes)
                logger.info("geoip database opened: \(db.summary)", metadata: ["event": "geoip.opened"])
                st.current = db; st.failed = nil; st.lastError = nil
            } catch {
                fail(&st, path: path, identity: identity, "\(error)")
            }
            return st.current.map(GeoDatabaseRef.init)
        }
    }

    private func fail(_ st: inout State, path: String, identity: FileIdentity?, _ message: String) {
        if let f = st.failed, f.path == path, f.identity == identity { return }
        st.failed = (path, identity)
        st.lastError = message
        let meanwhile = st.current.map { "still serving \($0.path) as opened before" } ?? "GeoIP not used until it opens"
        logger.error("geoip database not opened, \(meanwhile): \(message)", metadata: ["event": "geoip.open_failed"])
    }
}
