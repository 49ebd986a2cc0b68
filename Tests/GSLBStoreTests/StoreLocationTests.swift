import Foundation
@testable import GSLBStore
import TestPostgres
import Testing

/// `--store` URLs and where the PostgreSQL password comes from (docs/store.md, "Backends").
@Suite struct StoreLocationTests {
    @Test func sqliteURLsAndBarePathsAreSQLiteFiles() throws {
        #expect(try StoreLocation("sqlite:/var/lib/cairn/cairn.sqlite") == .sqlite(path: "/var/lib/cairn/cairn.sqlite"))
        #expect(try StoreLocation("cairn.sqlite") == .sqlite(path: "cairn.sqlite"))
        #expect(throws: StoreError.self) { try StoreLocation("sqlite:") }
        #expect(throws: StoreError.self) { try StoreLocation("mysql://cairn@db/cairn") }
    }

    @Test func postgresURLsCarryUserHostPortDatabaseAndSSLMode() throws {
        let l = try StoreLocation("postgres://cairn@db.example.net:6432/gslb?sslmode=verify-full")
        #expect(l == .postgres(PostgresLocation(user: "cairn", host: "db.example.net", port: 6432, database: "gslb",
                                                sslmode: .verifyFull)))
        #expect(l.description == "postgres://cairn@db.example.net:6432/gslb?sslmode=verify-full")
        let d = try StoreLocation("postgresql://cairn@db/gslb")
        #expect(d == .postgres(PostgresLocation(user: "cairn", host: "db", port: 5432, database: "gslb", sslmode: .prefer)))
        for bad in ["postgres://db/gslb", "postgres://cairn@/gslb", "postgres://cairn@db", "postgres://cairn@db/gslb?sslmode=maybe",
                    "postgres://cairn@db/gslb?application_name=x"] {
            #expect(throws: StoreError.self, "\(bad)") { try StoreLocation(bad) }
        }
    }

    @Test func aURLWithAPasswordIsRefusedSayingWhereThePasswordGoes() throws {
        for url in ["postgres://cairn:secret@db/gslb", "postgres://cairn@db/gslb?password=secret"] {
            do {
                _ = try StoreLocation(url)
                Issue.record("\(url) was accepted")
            } catch let error as StoreError {
                #expect(error.message.contains("PGPASSWORD") && error.message.contains("passfile"))
                #expect(!error.message.contains("secret"))
            }
        }
    }

    @Test func thePasswordComesFromPGPASSWORDElseTheFirstMatchingPassfileLine() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let passfile = dir.path("pgpass")
        try """
            # comment
            other.example:5432:gslb:cairn:not-this-host
            db:*:gslb:cairn:pass\\:word
            *:*:*:*:fallback
            """.write(toFile: passfile, atomically: true, encoding: .utf8)
        let l = PostgresLocation(user: "cairn", host: "db", port: 6432, database: "gslb")
        #expect(l.password(environment: ["PGPASSFILE": passfile]) == "pass:word")
        #expect(l.password(environment: ["PGPASSFILE": passfile, "PGPASSWORD": "env"]) == "env")
        var other = l
        other.database = "else"
        #expect(other.password(environment: ["PGPASSFILE": passfile]) == "fallback")
        other.passfile = dir.path("missing")
        #expect(other.password(environment: ["PGPASSFILE": passfile, "HOME": dir.url.path]) == nil)
    }

    /// The tests' PostgreSQL asks for a password over TCP: a passfile is enough, a wrong password is refused.
    @Test func aPostgresStoreOpensWithAPassfileAndRefusesAWrongPassword() throws {
        let server = try TestPostgres.shared()
        let location = try StoreLocation(try server.makeDatabase())
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let passfile = dir.path("pgpass")
        try "127.0.0.1:\(server.port):*:\(TestPostgres.user):\(TestPostgres.password)\n"
            .write(toFile: passfile, atomically: true, encoding: .utf8)
        let store = try Store(location: location, environment: ["PGPASSFILE": passfile])
        #expect(try store.loadState().config.sites.isEmpty)
        store.close()
        do {
            _ = try Store(location: location, environment: ["PGPASSWORD": "wrong"])
            Issue.record("a wrong password was accepted")
        } catch let error as StoreError {
            #expect(error.code == .cannotOpen)
            #expect(error.message.contains("password authentication failed"))
        }
    }
}
