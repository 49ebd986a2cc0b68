import Foundation
import GRDB
import Synchronization

/// The SQLite backend (GRDB): one file, WAL (`DatabasePool`), foreign keys on, a busy timeout of
/// 5 s, every write one immediate transaction. The only user of GRDB.
final class SQLiteDatabase: SQLDatabase {
    let path: String
    let pool: DatabasePool
    /// A dedicated connection that only reads `PRAGMA data_version` (see `changeToken`).
    private let watcher: DatabaseQueue
    private let tokenState = Mutex(TokenState())
    /// Bumped after each commit of this store's own writes.
    private let localWrites = Mutex<Int64>(0)

    private struct TokenState {
        var dataVersion: Int64?
        var localWrites: Int64 = 0
        var token: Int64 = 0
    }

    var dialect: SQLDialect { .sqlite }
    var locationDescription: String { path }

    /// Opens (creating it with mode 0600 if missing) the database at `path`.
    init(path: String) throws {
        self.path = path
        try Self.createFileIfMissing(path)
        var config = Configuration()
        config.foreignKeysEnabled = true            // PRAGMA foreign_keys = ON on every connection
        config.busyMode = .timeout(5)               // wait up to 5 s for another process's write lock
        config.label = "cairn.store"
        do {
            pool = try DatabasePool(path: path, configuration: config)   // DatabasePool = WAL
        } catch let error as DatabaseError {
            throw SQLError(.cannotOpen, "\(path): \(error.message ?? "\(error.resultCode)")")
        }
        var watcherConfig = Configuration()
        watcherConfig.readonly = true
        watcherConfig.busyMode = .timeout(5)
        watcherConfig.label = "cairn.store.watcher"
        watcher = try Self.mapped { try DatabaseQueue(path: path, configuration: watcherConfig) }
    }

    private static func createFileIfMissing(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            let err = errno
            if err == EEXIST { return }   // created by someone else meanwhile
            throw SQLError(.cannotOpen, "\(path): cannot create: \(String(cString: strerror(err)))")
        }
        defer { Glibc.close(fd) }
        _ = fchmod(fd, 0o600)   // whatever the umask; SQLite gives -wal and -shm the same mode
    }

    /// `announce` false: not counted as an own write (`PRAGMA data_version` still moves: SQLite
    /// cannot commit unseen, so readers compare what they load).
    func write<T>(announce: Bool, _ body: (any SQLTransaction) throws -> T) throws -> (result: T, changed: Bool) {
        let (result, changed) = try Self.mapped {
            try pool.write { db in
                let before = db.totalChangesCount
                let result = try body(Transaction(db: db))
                return (result, db.totalChangesCount != before)
            }
        }
        if changed && announce { localWrites.withLock { $0 += 1 } }
        return (result, changed)
    }

    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try Self.mapped { try pool.read { db in try body(Transaction(db: db)) } }
    }

    /// Two signals: `PRAGMA data_version` read on a dedicated read-only connection (SQLite
    /// changes it when a connection *other than this one* commits: another process, or this
    /// store's own writer connection), and a counter of this store's own commits (kept so
    /// that own writes are seen even without relying on the first signal). The token is a
    /// generation number bumped each time either signal moved since the previous call.
    func changeToken() throws -> Int64 {
        let dataVersion = try Self.mapped {
            try watcher.inDatabase { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        }
        let local = localWrites.withLock { $0 }
        return tokenState.withLock { state in
            if state.dataVersion != dataVersion || state.localWrites != local {
                state.dataVersion = dataVersion
                state.localWrites = local
                state.token += 1
            }
            return state.token
        }
    }

    func close() {
        try? pool.close()
        try? watcher.close()
    }

    /// SQLite's online backup API into a new file at `path` (the caller places it).
    func backup(into path: String) throws {
        try Self.mapped {
            let destination = try DatabaseQueue(path: path)
            try pool.backup(to: destination)
            try destination.close()
        }
    }

    static func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            throw sqlError(error)
        }
    }

    static func sqlError(_ error: DatabaseError) -> SQLError {
        let text = error.message ?? "\(error.resultCode)"
        if error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY { return SQLError(.foreignKey, text) }
        if error.resultCode == .SQLITE_CONSTRAINT { return SQLError(.constraint, text) }
        if error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CANTOPEN
            || error.resultCode == .SQLITE_PERM || error.resultCode == .SQLITE_READONLY {
            return SQLError(.cannotOpen, text)
        }
        return SQLError(.other, text)
    }

    final class Transaction: SQLTransaction {
        let db: Database
        init(db: Database) { self.db = db }
        var dialect: SQLDialect { .sqlite }

        func execute(_ sql: String, values arguments: [SQLValue]) throws -> Int {
            try mapped {
                try db.execute(sql: sql, arguments: StatementArguments(arguments.map(\.databaseValue)))
                return db.changesCount
            }
        }

        func fetch(_ sql: String, values arguments: [SQLValue]) throws -> [SQLRow] {
            try mapped {
                try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments.map(\.databaseValue))).map { row in
                    SQLRow(columns: Array(row.columnNames), values: row.databaseValues.map(SQLValue.init))
                }
            }
        }

        func executeScript(_ sql: String) throws {
            try mapped { try db.execute(sql: sql) }
        }
    }
}

extension SQLValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case .integer(let i): return i.databaseValue
        case .real(let d): return d.databaseValue
        case .text(let s): return s.databaseValue
        }
    }

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let i): self = .integer(i)
        case .double(let d): self = .real(d)
        case .string(let s): self = .text(s)
        case .blob(let b): self = .text(String(decoding: b, as: UTF8.self))
        }
    }
}
