import Foundation

/// The environment variables of the common settings. Every command reads them here, below its flags and above
/// `cairn serve --config` and the defaults (docs/operations.md, "Settings").
enum Environment {
    /// `CAIRN_STORE`, or its alias `CAIRN_DB`: the store, as `--store` takes it (a SQLite path, `sqlite:PATH` or
    /// `postgres://USER@HOST:PORT/DB`); with the variable that gave it.
    static func store(_ env: [String: String] = ProcessInfo.processInfo.environment) -> (value: String, variable: String)? {
        for v in ["CAIRN_STORE", "CAIRN_DB"] { if let s = env[v], !s.isEmpty { return (s, v) } }
        return nil
    }

    /// `CAIRN_ZONES`: the directory of zone files.
    static func zones(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        env["CAIRN_ZONES"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `CAIRN_API`: the admin API's URL that the commands call.
    static func api(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        env["CAIRN_API"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `CAIRN_TOKEN`: the API token of the commands (when no `--token-file`).
    static func token(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        env["CAIRN_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The zone directory of a command: its `--zones`, else `CAIRN_ZONES`, else `zones`.
    static func zonesDirectory(flag: String?, _ env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        flag ?? zones(env) ?? "zones"
    }
}
