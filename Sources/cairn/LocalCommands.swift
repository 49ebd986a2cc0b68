import ArgumentParser
import Foundation
import GSLBCore
import GSLBStore

/// `--db FILE` / `--store URL`: the store a local command opens.
struct LocalStoreOptions: ParsableArguments {
    @Option(help: "The SQLite store \(StoreFlag.dbHelp).") var db: String?
    @Option(help: StoreFlag.help) var store: String?

    func open() throws -> Store { try StoreFlag.open(db: db, store: store) }
    /// For commands that only read or remove: a missing SQLite store is an error, not a new empty store.
    func openExisting() throws -> Store { try StoreFlag.open(db: db, store: store, mustExist: true) }
}

/// Commands that work on the SQLite file directly (before or without a server).
let localCommands: [any ParsableCommand.Type] = [TokenCommand.self, TSIGCommand.self, DNSSECCommand.self, Backup.self,
                                                  StoreCommand.self]

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
        @OptionGroup var storeOptions: LocalStoreOptions

        func run() throws {
            guard let s = TokenScope(rawValue: scope) else { throw ValidationError("--scope: expected read, write or admin") }
            let now = Date().timeIntervalSince1970
            let expiresAt = try expires.map { e in
                guard let secs = TimeSpan.seconds(e), secs > 0 else {
                    throw ValidationError("--expires: expected a duration such as 30d, 12h, 15m")
                }
                return now + secs
            }
            let label = name ?? "\(s.rawValue)-\(Int(now))"
            let (token, secret) = try storeOptions.open().createToken(name: label, scope: s, expiresAt: expiresAt,
                                                                      principal: principalName(), source: "cli")
            let exp = expiresAt.map { "expires \(RFC3339.format($0, fractional: false))" } ?? "never expires"
            print("token \(token.id) \"\(token.name)\" scope \(s.rawValue), \(exp); it is shown only now:")
            print(secret)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var storeOptions: LocalStoreOptions
        @Flag(help: "JSON, as GET /v1/tokens answers.") var json = false
        func run() throws {
            let store = try storeOptions.openExisting()
            if json {
                print(JSONValue(encoding: ["tokens": try store.listTokens()]).compactText)
                return
            }
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
        @OptionGroup var storeOptions: LocalStoreOptions
        func run() throws {
            try storeOptions.openExisting().deleteToken(id: id, principal: principalName(), source: "cli", requestID: nil)
            print("token \(id) deleted")
        }
    }
}

struct TSIGCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsig", abstract: "Manage TSIG keys (RFC 8945) in the store (works without a server).",
        discussion: "A running server uses a key added or removed here within --store-check-interval, without a restart.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Add a key and print it once, in BIND's key-file form (for dig -k, nsupdate -k, named.conf).",
            aliases: ["add"])
        @Argument(help: "The key's name, a domain name such as xfr.example.") var name: String
        @Option(help: "hmac-sha256 (default), hmac-sha384, hmac-sha512 or hmac-sha1.") var algorithm: String = "hmac-sha256"
        @Option(help: ArgumentHelp("A file holding the secret in base64 (a BIND key file's secret); default: a new random one.",
                                   valueName: "FILE"))
        var secretFile: String?
        @OptionGroup var storeOptions: LocalStoreOptions

        func run() throws {
            guard let alg = TSIGAlgorithm(rawValue: algorithm.lowercased()) else {
                throw ValidationError("--algorithm: expected \(TSIGAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var secret: [UInt8]?
            if let secretFile {
                guard let data = FileManager.default.contents(atPath: secretFile) else {
                    throw ValidationError("--secret-file: cannot read \(secretFile)")
                }
                secret = try TSIGKey.secret(base64: String(decoding: data, as: UTF8.self))
                    .mapError { ValidationError("--secret-file: \($0.message)") }.get()
            }
            let key = try storeOptions.open().createTSIGKey(name: name, algorithm: alg, secret: secret, principal: principalName(),
                                                            source: "cli", requestID: nil)
            if secret == nil {
                print("# TSIG key \(key.name) (\(alg.rawValue)); the secret is shown only now:")
                print(key.bindKeyFile)
            } else {
                print("TSIG key \(key.name) (\(alg.rawValue)) added")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List TSIG keys: names and algorithms (never their secrets).")
        @OptionGroup var storeOptions: LocalStoreOptions
        func run() throws {
            let store = try storeOptions.openExisting()
            print("NAME  ALGORITHM  CREATED")
            for k in try store.listTSIGKeys() {
                print("\(k.name)  \(k.algorithm.rawValue)  \(RFC3339.format(k.createdAt, fractional: false))")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Remove a TSIG key: queries signed with it get BADKEY.", aliases: ["remove"])
        @Argument(help: "The key's name.") var name: String
        @OptionGroup var storeOptions: LocalStoreOptions
        func run() throws {
            try storeOptions.openExisting().deleteTSIGKey(name: name, principal: principalName(), source: "cli", requestID: nil)
            print("TSIG key \(name) removed")
        }
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the SQLite store to FILE with SQLite's online backup API (safe while `cairn serve` runs).")
    @Argument(help: "The backup file to write, mode 0600; an existing file (or symlink) there is replaced whole, by rename.") var file: String
    @OptionGroup var storeOptions: LocalStoreOptions
    func run() throws {
        let store = try storeOptions.openExisting()
        try store.backup(to: file)
        print("backed up \(store.path ?? store.location.description) to \(file)")
    }
}
