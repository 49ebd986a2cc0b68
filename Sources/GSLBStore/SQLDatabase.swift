import Foundation

// The seam between the repository logic (`Store`, written once) and a database backend
// (`SQLiteDatabase` through GRDB, `PostgresDatabase` through PostgresNIO): run SQL with binds,
// fetch rows, inside a transaction. Every statement is written once, in the SQL both speak
// (`?` placeholders, `INSERT ... RETURNING id`, `ON CONFLICT ... DO UPDATE`, `NULLS FIRST/LAST`);
// what differs between them is handled in `SQLDialect`, in one place.

/// One value bound to or read from a statement.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// A Swift value that can be bound to a `?` placeholder.
public protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Int: SQLBindable { public var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Int64: SQLBindable { public var sqlValue: SQLValue { .integer(self) } }
extension Double: SQLBindable { public var sqlValue: SQLValue { .real(self) } }
/// Booleans are stored as INTEGER 0/1 on both backends (`pools.ecs`).
extension Bool: SQLBindable { public var sqlValue: SQLValue { .integer(self ? 1 : 0) } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// A Swift value a column can be read as. A NULL read as a non-optional type, or a value of
/// the wrong type, is a bug in the query (as with GRDB's row subscripts): it traps.
public protocol SQLColumnValue {
    static func fromSQL(_ value: SQLValue) -> Self?
}

extension String: SQLColumnValue {
    public static func fromSQL(_ value: SQLValue) -> String? {
        if case .text(let s) = value { return s }
        return nil
    }
}
extension Int64: SQLColumnValue {
    public static func fromSQL(_ value: SQLValue) -> Int64? {
        switch value {
        case .integer(let i): return i
        case .real(let d) where d.rounded() == d: return Int64(exactly: d)
        default: return nil
        }
    }
}
extension Int: SQLColumnValue {
    public static func fromSQL(_ value: SQLValue) -> Int? { Int64.fromSQL(value).flatMap { Int(exactly: $0) } }
}
extension Double: SQLColumnValue {
    public static func fromSQL(_ value: SQLValue) -> Double? {
        switch value {
        case .real(let d): return d
        case .integer(let i): return Double(i)
        default: return nil
        }
    }
}
extension Bool: SQLColumnValue {
    public static func fromSQL(_ value: SQLValue) -> Bool? { Int64.fromSQL(value).map { $0 != 0 } }
}
extension Optional: SQLColumnValue where Wrapped: SQLColumnValue {
    public static func fromSQL(_ value: SQLValue) -> Optional<Wrapped>? {
        if case .null = value { return .some(nil) }
        return Wrapped.fromSQL(value).map { .some($0) }
    }
}

/// A fetched row: values by column name (lower case, as both databases return them) or position.
public struct SQLRow: Sendable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns; self.values = values
    }

    public func value(_ column: String) -> SQLValue {
        guard let i = columns.firstIndex(of: column) else { preconditionFailure("no column \(column) in \(columns)") }
        return values[i]
    }

    public subscript<T: SQLColumnValue>(_ column: String) -> T {
        guard let v = T.fromSQL(value(column)) else { preconditionFailure("column \(column): \(value(column)) is not \(T.self)") }
        return v
    }

    public subscript<T: SQLColumnValue>(_ index: Int) -> T {
        guard let v = T.fromSQL(values[index]) else { preconditionFailure("column \(index): \(values[index]) is not \(T.self)") }
        return v
    }
}

/// What a backend reports when a statement fails; `mapErrors` turns it into a `StoreError`.
public struct SQLError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// A foreign key rejected the statement.
        case foreignKey
        /// A uniqueness, NOT NULL or CHECK constraint rejected the statement.
        case constraint
        /// The database cannot be reached, opened or written (permissions, not a database, refused connection).
        case cannotOpen
        case other
    }
    public var kind: Kind
    public var message: String
    /// The server could not be reached at all (no answer, refused): not a refusal by the server (a wrong
    /// password or database). `cairn serve` may then start from its local cache and connect later.
    public var unreachable = false
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
    public var description: String { message }
}

/// An open transaction of a backend. A failed statement throws `SQLError`; the caller must then
/// let the transaction end (PostgreSQL refuses further statements in it).
public protocol SQLTransaction: AnyObject {
    var dialect: SQLDialect { get }
    /// Runs one statement; returns the number of rows it inserted, updated or deleted.
    @discardableResult
    func execute(_ sql: String, values: [SQLValue]) throws -> Int
    /// Runs one statement and returns its rows (a SELECT, or a write with `RETURNING`).
    func fetch(_ sql: String, values: [SQLValue]) throws -> [SQLRow]
    /// Runs several statements without binds (the migrations).
    func executeScript(_ sql: String) throws
}

extension SQLTransaction {
    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> Int {
        try execute(sql, values: arguments.map(\.sqlValue))
    }
    func fetch(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> [SQLRow] {
        try fetch(sql, values: arguments.map(\.sqlValue))
    }
    func fetchOne(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> SQLRow? {
        try fetch(sql, arguments).first
    }
    /// Inserts a row of `columns`, or, when a row with the same first `keys` columns exists, sets its other columns
    /// (`ON CONFLICT ... DO UPDATE`); `values` in the order of `columns`.
    func upsert(_ table: String, _ columns: [String], keys: Int, _ values: [any SQLBindable]) throws {
        let set = columns.dropFirst(keys).map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        try execute("""
            INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(SQLDialect.questionMarks(columns.count)))
            ON CONFLICT (\(columns.prefix(keys).joined(separator: ", "))) DO UPDATE SET \(set)
            """, values)
    }
    /// The id of the row an `INSERT` inserted (both backends: `RETURNING id`).
    func insertReturningID(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int64 {
        guard let row = try fetch(sql + " RETURNING id", arguments).first else {
            throw SQLError(.other, "an INSERT returned no id")
        }
        return row[0]
    }
}

/// A database the store runs on. Writes are serialised (one writer at a time, across processes);
/// a read sees one committed snapshot.
public protocol SQLDatabase: Sendable {
    var dialect: SQLDialect { get }
    /// A human name of the location, for messages (`cairn.sqlite`, `postgres://cairn@db:5432/cairn`).
    var locationDescription: String { get }
    /// Runs `body` in a write transaction and commits it; rolls back when it throws. `changed`
    /// says whether the transaction inserted, updated or deleted any row. With `announce` false the
    /// change is not announced to other nodes (PostgreSQL: no change-counter bump, no NOTIFY, and no
    /// wait for the writers' lock): for bookkeeping no snapshot depends on and whose statements are atomic
    /// by themselves, such as the registry's heartbeats and the leases.
    func write<T>(announce: Bool, _ body: (any SQLTransaction) throws -> T) throws -> (result: T, changed: Bool)
    /// Runs `body` in a read-only transaction over one committed snapshot.
    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T
    /// A number that moves whenever anyone commits a change (see `Store.changeToken`).
    func changeToken() throws -> Int64
    /// Closes the connections; the database is not used afterwards.
    func close()
}

/// The differences between the two SQL dialects, in one place.
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgres

    /// `?` placeholders as the backend wants them: SQLite takes `?`; PostgreSQL takes `$1`, `$2`, ...
    /// (a `?` inside a quoted literal or identifier is left alone).
    func placeholders(_ sql: String) -> String {
        guard self == .postgres else { return sql }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var n = 0
        var quote: Character?
        for c in sql {
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "?" {
                n += 1
                out += "$\(n)"
                continue
            }
            out.append(c)
        }
        return out
    }

    /// A migration's DDL, written in SQLite's types, for this backend. PostgreSQL: `INTEGER
    /// PRIMARY KEY [AUTOINCREMENT]` becomes an identity column (never reused, as AUTOINCREMENT;
    /// BY DEFAULT so that `cairn store copy` can keep ids), `INTEGER` `BIGINT`, `REAL` `DOUBLE
    /// PRECISION` (PostgreSQL's REAL has 4 bytes), `TEXT` `TEXT COLLATE "C"` (ORDER BY in byte
    /// order, as SQLite), and `WITHOUT ROWID` goes.
    func ddl(_ sqlite: String) -> String {
        guard self == .postgres else { return sqlite }
        let rules: [(String, String)] = [
            (#"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"#, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
            (#"\bINTEGER PRIMARY KEY\b"#, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
            (#"\bINTEGER\b"#, "BIGINT"),
            (#"\bREAL\b"#, "DOUBLE PRECISION"),
            (#"\bTEXT\b"#, #"TEXT COLLATE "C""#),
            (#"\)\s*WITHOUT ROWID;"#, ");"),
        ]
        return rules.reduce(sqlite) { s, rule in s.replacingOccurrences(of: rule.0, with: rule.1, options: .regularExpression) }
    }

    /// The statements of a script: split at `;` outside quotes, `--` comments dropped.
    static func statements(_ script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var quote: Character?
        var comment = false
        var previous: Character?
        for c in script {
            if comment {
                if c == "\n" { comment = false; current.append(c) }
            } else if let q = quote {
                current.append(c)
                if c == q { quote = nil }
            } else if c == "-" && previous == "-" {
                current.removeLast()
                comment = true
            } else if c == "'" || c == "\"" {
                quote = c
                current.append(c)
            } else if c == ";" {
                statements.append(current)
                current = ""
            } else {
                current.append(c)
            }
            previous = comment ? nil : c
        }
        statements.append(current)
        return statements.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// `?, ?, ?` for an IN list of `count` values.
    static func questionMarks(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}
