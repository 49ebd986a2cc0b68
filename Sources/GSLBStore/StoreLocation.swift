import Foundation
import GSLBCore

/// Where the store is: `sqlite:PATH` (the embedded default, one node) or
/// `postgres://USER@HOST:PORT/DB[?sslmode=disable|prefer|require|verify-full][&passfile=PATH]`
/// (several nodes on one database). A password is never part of the URL: it comes from
/// `PGPASSWORD` or a passfile (`passfile=`, `PGPASSFILE`, else `~/.pgpass`; libpq's format).
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// Parses `--store`. A bare path (no scheme) is a SQLite file, as `--db` takes it.
    public init(_ text: String) throws {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw StoreError(.invalid, "--store sqlite:PATH: the path is empty") }
            self = .sqlite(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(url: text))
        } else if text.contains("://") {
            throw StoreError(.invalid, "--store \(text): expected sqlite:PATH or postgres://USER@HOST:PORT/DB")
        } else {
            self = .sqlite(path: text)
        }
    }

    /// The URL form, without any password.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let p): return p.description
        }
    }

    /// The SQLite file, or nil for PostgreSQL.
    public var sqlitePath: String? {
        if case .sqlite(let path) = self { return path }
        return nil
    }
}

public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, certificate not checked (libpq's default).
        case prefer
        /// TLS required, certificate not checked.
        case require
        /// TLS required, certificate chain and host name checked against the system's trust roots.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var sslmode: SSLMode
    /// `passfile=` of the URL, if given.
    public var passfile: String?

    public init(user: String, host: String, port: Int = 5432, database: String, sslmode: SSLMode = .prefer,
                passfile: String? = nil) {
        self.user = user; self.host = host; self.port = port; self.database = database; self.sslmode = sslmode
        self.passfile = passfile
    }

    init(url text: String) throws {
        func bad(_ why: String) -> StoreError {
            StoreError(.invalid, "--store: \(why) (expected postgres://USER@HOST:PORT/DB[?sslmode=disable|prefer|require|verify-full])")
        }
        guard let components = URLComponents(string: text) else { throw bad("not a URL") }
        if components.password != nil {
            throw StoreError(.invalid, "--store: the URL has a password: command lines are visible to every local user (ps, /proc) "
                             + "and end up in shell history and logs; put it in PGPASSWORD or a passfile (~/.pgpass) instead")
        }
        guard let user = components.user, !user.isEmpty else { throw bad("no user") }
        guard let host = components.host, !host.isEmpty else { throw bad("no host") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw bad("no database name") }
        var sslmode = SSLMode.prefer
        var passfile: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let v = item.value, let mode = SSLMode(rawValue: v) else {
                    throw bad("sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslmode = mode
            case "passfile":
                passfile = item.value
            case "password":
                throw StoreError(.invalid, "--store: the URL has a password: put it in PGPASSWORD or a passfile (~/.pgpass) instead")
            default:
                throw bad("unknown parameter \(item.name)")
            }
        }
        self.init(user: user.removingPercentEncoding ?? user, host: host, port: components.port ?? 5432,
                  database: database.removingPercentEncoding ?? database, sslmode: sslmode, passfile: passfile)
    }

    public var description: String {
        var s = "postgres://\(user)@\(hostPort(host, port))/\(database)"
        var query: [String] = []
        if sslmode != .prefer { query.append("sslmode=\(sslmode.rawValue)") }
        if let passfile { query.append("passfile=\(passfile)") }
        if !query.isEmpty { s += "?" + query.joined(separator: "&") }
        return s
    }

    /// The password: `PGPASSWORD`, else the first matching line of the passfile, else none.
    public func password(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let p = environment["PGPASSWORD"] { return p }
        let file = passfile ?? environment["PGPASSFILE"]
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.pgpass"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        return Self.passwordFromPassfile(text, host: host, port: port, database: database, user: user)
    }

    /// libpq's passfile: `hostname:port:database:username:password` per line, `*` matches
    /// anything, `\:` and `\\` escape, `#` starts a comment line; the first match wins.
    static func passwordFromPassfile(_ text: String, host: String, port: Int, database: String, user: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("#") { continue }
            var fields: [String] = [""]
            var escaped = false
            for c in line {
                if escaped { fields[fields.count - 1].append(c); escaped = false }
                else if c == "\\" { escaped = true }
                else if c == ":" && fields.count < 5 { fields.append("") }
                else { fields[fields.count - 1].append(c) }
            }
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }
}
