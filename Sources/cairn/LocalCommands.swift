import ArgumentParser
import Foundation
import GSLBCore
import GSLBStore

/// Commands that work on the SQLite file directly (before or without a server).
let localCommands: [any ParsableCommand.Type] = [TokenCommand.self, Backup.self, StoreCommand.self]

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Manage admin API tokens in the store (works without a server).",
        subcommands: [Create.self, List.self, Delete.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it once, alone on the last line.")
        @Option(help: "read, write or admin.") var scope: String = "read"
        @Option(help: "A name for the audit log (default: the scope and the time).") var name: String?
        @Option(help: "Lifetime: 30s, 15m, 12h, 30d; none = never expires.") var expires: String?
        @Option(help: "The SQLite store.") var db: String = "cairn.sqlite"
        @Option(help: StoreFlag.help) var store: String?

        func run() throws {
            guard let s = TokenScope(rawValue: scope) else { throw ValidationError("--scope: expected read, write or admin") }
            var expiresAt: Double?
            let now = Date().timeIntervalSince1970
            if let e = expires {
                guard let secs = TimeSpan.seconds(e), secs > 0 else {
                    throw ValidationError("--expires: expected a duration such as 30d, 12h, 15m")
                }
                expiresAt = now + secs
            }
            let store = try StoreFlag.open(db: db, store: self.store)
            let label = name ?? "\(s.rawValue)-\(Int(now))"
            let (token, secret) = try store.createToken(name: label, scope: s, expiresAt: expiresAt,
                                                        principal: "cli:\(NSUserName())", source: "cli")
            let exp = expiresAt.map { "expires \(RFC3339.format($0, fractional: false))" } ?? "never expires"
            print("token \(token.id) \"\(token.name)\" scope \(s.rawValue), \(exp); it is shown only now:")
            print(secret)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @Option(help: "The SQLite store.") var db: String = "cairn.sqlite"
        @Option(help: StoreFlag.help) var store: String?
        func run() throws {
            let store = try StoreFlag.open(db: db, store: self.store)
            print("ID  NAME  SCOPE  EXPIRES  LAST USED")
            for t in try store.listTokens() {
                print("\(t.id)  \(t.name)  \(t.scope.rawValue)  \(t.expiresAt.map { RFC3339.format($0, fractional: false) } ?? "never")  "
                      + "\(t.lastUsedAt.map { RFC3339.format($0, fractional: false) } ?? "-")")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete (revoke) a token.")
        @Argument var id: Int64
        @Option(help: "The SQLite store.") var db: String = "cairn.sqlite"
        @Option(help: StoreFlag.help) var store: String?
        func run() throws {
            let store = try StoreFlag.open(db: db, store: self.store)
            try store.deleteToken(id: id, principal: "cli:\(NSUserName())", source: "cli", requestID: nil)
            print("token \(id) deleted")
        }
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the SQLite store to FILE with SQLite's online backup API (safe while `cairn serve` runs).")
    @Argument(help: "The backup file to write, mode 0600; an existing file (or symlink) there is replaced whole, by rename.") var file: String
    @Option(help: "The SQLite store.") var db: String = "cairn.sqlite"
    @Option(help: StoreFlag.help) var store: String?
    func run() throws {
        let store = try StoreFlag.open(db: db, store: self.store)
        try store.backup(to: file)
        print("backed up \(store.path ?? db) to \(file)")
    }
}
