import ArgumentParser
import Foundation
import GSLBStore

/// `--store URL` beside `--db FILE` (docs/store.md, "Backends"): `--db FILE` means `sqlite:FILE`;
/// `--store` takes `sqlite:PATH` or `postgres://USER@HOST:PORT/DB[?sslmode=...]`, never a password.
enum StoreFlag {
    static let help: ArgumentHelp = ArgumentHelp(
        "Where the store is: sqlite:PATH (a SQLite file, the default) or postgres://USER@HOST:PORT/DB[?sslmode=disable|prefer|require|verify-full]; "
            + "the password comes from PGPASSWORD or a passfile (~/.pgpass), never from the URL.",
        valueName: "url")

    /// `--db`'s help: the default is the environment's store, else `cairn.sqlite`.
    static let dbHelp = "(default: $CAIRN_STORE or $CAIRN_DB, else cairn.sqlite)"

    /// Where every command's store is, the one rule (docs/operations.md, "Settings"): `--store URL` or `--db FILE`
    /// (both at once is refused), else `CAIRN_STORE` (or its alias `CAIRN_DB`, as `--store` takes it), else
    /// `cairn.sqlite` in the working directory.
    static func location(db: String?, store: String?,
                         environment: [String: String] = ProcessInfo.processInfo.environment) throws -> StoreLocation {
        let text: String
        switch (db, store) {
        case (.some, .some):
            throw ValidationError("--db and --store both name a store: give one (--db FILE means --store sqlite:FILE)")
        case (.some(let db), nil): return .sqlite(path: db)
        case (nil, .some(let store)): text = store
        case (nil, nil):
            guard let env = Environment.store(environment) else { return .sqlite(path: "cairn.sqlite") }
            text = env.value
        }
        do { return try StoreLocation(text) } catch let error as StoreError { throw ValidationError(error.message) }
    }

    /// Opens the store, creating (and migrating) a SQLite file that is not there yet: then it says so, with the
    /// absolute path, on stderr (a typo in --db or another working directory is seen at once). With `mustExist`
    /// (commands that only read one: backup, export, token list, offline explain) such a file is refused instead
    /// of creating an empty store and reporting on it.
    static func open(db: String?, store: String?, mustExist: Bool = false) throws -> Store {
        let place = try location(db: db, store: store)
        let absent = place.sqlitePath.flatMap { FileManager.default.fileExists(atPath: $0) ? nil : absolutePath($0) }
        if let absent, mustExist {
            printError("cairn: no store at \(absent): give --db FILE, --store URL or CAIRN_STORE (cairn apply, cairn token create and cairn serve create one)")
            throw ExitCode(1)
        }
        // Audit rows written by the command name the host it ran on.
        let opened = try Store(location: place, node: ProcessInfo.processInfo.hostName)
        if let absent { printError("cairn: created a new, empty store at \(absent)") }
        return opened
    }

    static func absolutePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Work on whole stores (SQLite files and PostgreSQL databases).",
        subcommands: [Copy.self])

    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a whole store (config, versions, overrides, tokens, drills, health, history, audit log) into a new, empty one.",
            discussion: """
                FROM and TO are store URLs (sqlite:PATH or postgres://USER@HOST:PORT/DB); TO is created and migrated \
                when needed and must hold nothing yet. Stop `cairn serve` (or make no writes) while copying: writes \
                made during the copy are not in it.
                """)
        @Argument(help: "The store to read.") var from: String
        @Argument(help: "The store to write; must be empty.") var to: String

        func run() throws {
            let fromPlace = try StoreLocation(from)
            if let path = fromPlace.sqlitePath, !FileManager.default.fileExists(atPath: path) {
                printError("cairn: no store at \(StoreFlag.absolutePath(path)) to copy from")
                throw ExitCode(1)
            }
            let source = try Store(location: fromPlace)
            let destination = try Store(location: try StoreLocation(to))
            defer { source.close(); destination.close() }
            let copied = try source.copy(to: destination)
            for (table, rows) in copied { print("\(table): \(rows) rows") }
            print("copied \(source.location) to \(destination.location)")
        }
    }
}
