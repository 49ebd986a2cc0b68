import Foundation
import Synchronization

/// A PostgreSQL store that could not be reached when `cairn serve` started (`Store(location:waitForDatabase:)`):
/// every call tries to connect and migrate (at most once a second; between tries it fails at once, as a store
/// that is away does), then forwards to the connected database for good. Meanwhile the daemon serves from its
/// local cache.
final class DeferredDatabase: SQLDatabase {
    let location: PostgresLocation
    let environment: [String: String]
    private struct State {
        var database: PostgreSQLDatabase?
        var lastTry: Double = 0
        var lastError: SQLError?
    }
    private let state = Mutex(State())
    /// Seconds between connection attempts.
    static let retryEvery = 1.0

    init(location: PostgresLocation, environment: [String: String], error: SQLError) {
        self.location = location
        self.environment = environment
        state.withLock { $0.lastError = error; $0.lastTry = Date().timeIntervalSince1970 }
    }

    var dialect: SQLDialect { .postgres }
    var locationDescription: String { location.description }

    /// The connected (and migrated) database, connecting now if it is time to try again.
    func connected() throws -> PostgreSQLDatabase {
        let now = Date().timeIntervalSince1970
        let ready = try state.withLock { s -> PostgreSQLDatabase? in
            if let d = s.database { return d }
            if now - s.lastTry < Self.retryEvery, let e = s.lastError { throw e }
            s.lastTry = now
            return nil
        }
        if let ready { return ready }
        do {
            let database = try PostgreSQLDatabase(location: location, environment: environment)
            try Schema.migrate(database)
            return state.withLock { s in
                if let other = s.database { database.close(); return other }   // another caller connected meanwhile
                s.database = database
                return database
            }
        } catch let error as SQLError {
            state.withLock { $0.lastError = error }
            throw error
        }
    }

    func write<T>(announce: Bool, _ body: (any SQLTransaction) throws -> T) throws -> (result: T, changed: Bool) {
        try connected().write(announce: announce, body)
    }

    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T { try connected().read(body) }

    func changeToken() throws -> Int64 { try connected().changeToken() }

    func close() { state.withLock { $0.database }?.close() }

    /// Waits for the database, then listens as `PostgreSQLDatabase.listenForChanges` does.
    func listenForChanges(onChange: @escaping @Sendable () -> Void) async {
        while !Task.isCancelled {
            if let database = try? connected() {
                await database.listenForChanges(onChange: onChange)
                return
            }
            try? await Task.sleep(for: .seconds(Self.retryEvery))
        }
    }
}
