import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The PostgreSQL backend (PostgresNIO): the same tables and statements as SQLite (see
/// `SQLDialect`), for several nodes sharing one database. The only file of the store that touches
/// PostgresNIO, and through it only what its client API hands out (its futures, its default event
/// loops, the TLS context of `sslmode`): the store imports no NIO module and runs no event loop of its own.
///
/// **Blocking.** The repository protocols are synchronous, as SQLite is, so this adapter blocks
/// the calling thread on PostgresNIO's futures (`EventLoopFuture.wait()`). Callers already run
/// store work off the DNS threads and off the event loops: the admin API on a serial Dispatch
/// queue, the store watcher on a thread of its own, the CLI on its main thread. `wait()` traps
/// on an event-loop thread, so a call from an event loop is a bug that shows at once.
///
/// **Transactions.** A write is `BEGIN` + `pg_advisory_xact_lock(writeLock)` + the statements +
/// `COMMIT` (bookkeeping writes, `announce: false`, skip the lock), waiting at most 5 s for the lock (`lock_timeout`): writers are serialised across every node, as SQLite's immediate transactions
/// serialise them across processes, so a read-check-write (`modifyConfig`, If-Match) cannot
/// interleave with another writer. A read is `REPEATABLE READ READ ONLY`: one committed snapshot.
///
/// **Changes.** A write transaction that changed rows also bumps `cairn_changes.generation`
/// and sends `NOTIFY cairn_changes` before it commits; `changeToken()` reads the generation.
final class PostgreSQLDatabase: SQLDatabase {
    let location: PostgresLocation
    private let configuration: PostgresConnection.Configuration
    private let idle = Mutex<[PostgresConnection]>([])
    private let nextID = Mutex<Int>(0)
    private let logger: Logger

    /// Connections kept open between transactions.
    static let maxIdleConnections = 4
    /// The advisory lock every write transaction takes (the bytes of "cairn").
    static let writeLock: Int64 = 0x63_61_69_72_6e
    /// How long a write waits for another node's write (`lock_timeout`), as SQLite's busy timeout.
    static let lockTimeout = "5s"
    /// The channel notified by every write that changed something.
    static let notifyChannel = "cairn_changes"

    var dialect: SQLDialect { .postgres }
    var locationDescription: String { location.description }

    init(location: PostgresLocation, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.location = location
        var logger = Logger(label: "cairn.store")
        logger.logLevel = .critical
        self.logger = logger
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch location.sslmode {
            case .disable:
                tls = .disable
            case .prefer, .require:
                var c = TLSConfiguration.makeClientConfiguration()
                c.certificateVerification = .none
                let context = try NIOSSLContext(configuration: c)
                tls = location.sslmode == .prefer ? .prefer(context) : .require(context)
            case .verifyFull:
                tls = .require(try NIOSSLContext(configuration: TLSConfiguration.makeClientConfiguration()))
            }
        } catch {
            throw SQLError(.cannotOpen, "\(location): TLS: \(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user,
            password: location.password(environment: environment), database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        if location.sslmode == .verifyFull { configuration.options.tlsServerName = location.host }
        self.configuration = configuration
        // Connect now: a wrong host, user or password is reported when the store is opened.
        let connection = try connect()
        idle.withLock { $0.append(connection) }
        // Bookkeeping outside the migrations (as the migrations' own table): the change counter.
        _ = try write(announce: true) { tx in
            try tx.executeScript("""
                CREATE TABLE IF NOT EXISTS cairn_changes (
                    id          INTEGER PRIMARY KEY CHECK (id = 1),
                    generation  BIGINT NOT NULL
                );
                INSERT INTO cairn_changes (id, generation) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
                """)
        }
    }

    private func connect() throws -> PostgresConnection {
        let id = nextID.withLock { $0 += 1; return $0 }
        do {
            return try PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.any(),
                                                  configuration: configuration, id: id, logger: logger).wait()
        } catch {
            throw Self.sqlError(error, location: location, connecting: true)
        }
    }

    /// A connection from the idle ones (closed ones dropped) or a new one; back to the idle
    /// ones afterwards unless it broke.
    private func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        var connection: PostgresConnection?
        while connection == nil, let c = idle.withLock({ $0.popLast() }) {
            if !c.isClosed { connection = c }
        }
        let conn = try connection ?? connect()
        defer {
            if !conn.isClosed {
                let kept = idle.withLock { list -> Bool in
                    guard list.count < Self.maxIdleConnections else { return false }
                    list.append(conn)
                    return true
                }
                if !kept { Self.closeSoon(conn) }
            }
        }
        return try body(conn)
    }

    func write<T>(announce: Bool, _ body: (any SQLTransaction) throws -> T) throws -> (result: T, changed: Bool) {
        try transaction("BEGIN ISOLATION LEVEL READ COMMITTED") { tx in
            // Wait at most 5 s for another writer, as SQLite's busy timeout.
            try tx.execute("SET LOCAL lock_timeout = '\(Self.lockTimeout)'")
            // Bookkeeping (heartbeats, leases: upserts atomic by themselves) does not queue behind the config writers,
            // nor make a health verdict's write wait behind it.
            if announce { _ = try tx.fetch("SELECT pg_advisory_xact_lock(?)", [Self.writeLock]) }
            let result = try body(tx)
            let changed = tx.changes > 0
            if changed && announce {
                try tx.execute("UPDATE cairn_changes SET generation = generation + 1 WHERE id = 1")
                try tx.execute("NOTIFY \(Self.notifyChannel)")
            }
            return (result, changed)
        }
    }

    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// `begin`, `body`, then `COMMIT`; `ROLLBACK` when `body` throws.
    private func transaction<T>(_ begin: String, _ body: (Transaction) throws -> T) throws -> T {
        try withConnection { conn in
            let tx = Transaction(connection: conn, logger: logger, location: location)
            try tx.execute(begin)
            do {
                let result = try body(tx)
                try tx.execute("COMMIT")
                return result
            } catch {
                _ = try? tx.execute("ROLLBACK")
                throw error
            }
        }
    }

    func changeToken() throws -> Int64 {
        try withConnection { conn in
            let tx = Transaction(connection: conn, logger: logger, location: location)
            return try tx.fetch("SELECT generation FROM cairn_changes WHERE id = 1").first?[0] ?? 0
        }
    }

    func close() {
        let all = idle.withLock { list -> [PostgresConnection] in defer { list = [] }; return list }
        for c in all { try? c.close().wait() }
    }

    /// Runs until its task is cancelled: a connection of its own `LISTEN`s on `cairn_changes`
    /// and `onChange` is called once when it starts listening (what was missed while it was
    /// not) and after each notification. When the connection fails it reconnects after a
    /// second. Cancelling the task closes the connection.
    func listenForChanges(onChange: @escaping @Sendable () -> Void) async {
        while !Task.isCancelled {
            let id = nextID.withLock { $0 += 1; return $0 }
            if let connection = try? await PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.any(),
                                                                         configuration: configuration, id: id, logger: logger) {
                await withTaskCancellationHandler {
                    _ = try? await connection.listen(on: Self.notifyChannel) { notifications in
                        onChange()
                        for try await _ in notifications { onChange() }
                    }
                } onCancel: {
                    connection.close().whenComplete { _ in }
                }
                try? await connection.close()
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// A store dropped without `close()` (the tests open many) closes its connections in the
    /// background: never `wait()` here, a deinit may run on an event loop.
    deinit {
        for c in idle.withLock({ $0 }) { Self.closeSoon(c) }
    }

    /// Closes `connection` without waiting, keeping it alive until it is closed (PostgresNIO
    /// asserts that a connection is closed before it goes away).
    private static func closeSoon(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    static func sqlError(_ error: any Error, location: PostgresLocation, connecting: Bool = false) -> SQLError {
        guard let e = error as? PSQLError else {
            // Not PostgreSQL's own error while connecting: the socket failed (refused, no route, timeout).
            var out = SQLError(connecting ? .cannotOpen : .other, "\(location): \(error)")
            out.unreachable = connecting
            return out
        }
        if let info = e.serverInfo {
            let state = info[.sqlState] ?? ""
            var text = info[.message] ?? "server error \(state)"
            if let detail = info[.detail] { text += " (\(detail))" }
            switch state {
            case "23503": return SQLError(.foreignKey, text)
            case _ where state.hasPrefix("23"): return SQLError(.constraint, text)
            // 08 connection exception, 28 invalid authorization, 3D000 no such database, 57P0x shutting down
            case _ where state.hasPrefix("08") || state.hasPrefix("28") || state == "3D000" || state.hasPrefix("57P"):
                return SQLError(.cannotOpen, "\(location): \(text)")
            default: return SQLError(.other, text)
            }
        }
        let underlying = e.underlying.map { ": \($0)" } ?? ""
        let kind: SQLError.Kind = connecting || e.code == .connectionError || e.code == .serverClosedConnection
            || e.code == .clientClosedConnection ? .cannotOpen : .other
        var out = SQLError(kind, "\(location): \(e.code)\(underlying)")
        out.unreachable = connecting && e.code == .connectionError
        return out
    }

    final class Transaction: SQLTransaction {
        let connection: PostgresConnection
        let logger: Logger
        let location: PostgresLocation
        /// Rows inserted, updated or deleted so far.
        var changes = 0

        init(connection: PostgresConnection, logger: Logger, location: PostgresLocation) {
            self.connection = connection; self.logger = logger; self.location = location
        }

        var dialect: SQLDialect { .postgres }

        private func run(_ sql: String, _ arguments: [SQLValue]) throws -> PostgresQueryResult {
            var binds = PostgresBindings(capacity: arguments.count)
            for a in arguments {
                switch a {
                case .null: binds.appendNull()
                case .integer(let i): binds.append(i)
                case .real(let d): binds.append(d)
                case .text(let s): binds.append(s)
                }
            }
            let query = PostgresQuery(unsafeSQL: dialect.placeholders(sql), binds: binds)
            let result: PostgresQueryResult
            do {
                result = try connection.query(query, logger: logger).wait()
            } catch {
                throw PostgreSQLDatabase.sqlError(error, location: location)
            }
            switch result.metadata.command {
            case "INSERT", "UPDATE", "DELETE": changes += result.metadata.rows ?? 0
            default: break
            }
            return result
        }

        func execute(_ sql: String, values arguments: [SQLValue]) throws -> Int {
            try run(sql, arguments).metadata.rows ?? 0
        }

        func fetch(_ sql: String, values arguments: [SQLValue]) throws -> [SQLRow] {
            let result = try run(sql, arguments)
            guard let first = result.rows.first else { return [] }
            let columns = first.map(\.columnName)
            return try result.rows.map { row in
                SQLRow(columns: columns, values: try row.map(Self.value))
            }
        }

        func executeScript(_ sql: String) throws {
            // PostgresNIO sends one statement per query (the extended protocol): one at a time.
            for statement in SQLDialect.statements(sql) { _ = try run(statement, []) }
        }

        static func value(_ cell: PostgresCell) throws -> SQLValue {
            guard cell.bytes != nil else { return .null }
            switch cell.dataType {
            case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
            case .float4, .float8: return .real(try cell.decode(Double.self))
            case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
            case .numeric:
                let text = try cell.decode(String.self)
                return Double(text).map(SQLValue.real) ?? .text(text)
            default: return .text(try cell.decode(String.self))
            }
        }
    }
}
