import DNSWire
import Foundation
import GSLBCore

/// The declarative YAML file of `cairn apply` and `cairn export` (keys and rules in
/// `docs/config-file.md`).
///
/// The objects' `Codable` conformances (GSLBCore, Model+Codable.swift) are the one codec of the
/// file and of API bodies: `ConfigNodeDecoder` runs them over the YAML (or JSON) tree so that every
/// problem names its place, e.g. `pools[0].ttl: expected an integer, got "abc"`, and every problem is
/// reported at once. `decode` checks the shape and types; `ConfigValidator` checks what the values
/// mean (the overloads taking `zones` run both and report everything together).
public enum ConfigFile {
    /// Reads a configuration: shape, keys and types. Defaults are filled in; pool names
    /// (and `pool:NAME` fallbacks) without a trailing dot get one.
    public static func decode(yaml: String) -> Result<GSLBConfig, [ConfigIssue]> {
        let r = ConfigFileReader.read(yaml: yaml)
        return r.issues.isEmpty ? .success(r.config) : .failure(r.issues)
    }

    /// Reads and validates a configuration against the served zones: every problem of the
    /// file, of shape or of meaning, in one list. Problems a shape error already explains
    /// (the same place or below it) are not repeated.
    public static func decode(yaml: String, zones: [DomainName],
                              staticData: (DomainName) -> Set<RecordType>?,
                              occluded: (DomainName) -> Bool = { _ in false },
                              limits: ConfigLimits = .defaults) -> Result<GSLBConfig, [ConfigIssue]> {
        let r = ConfigFileReader.read(yaml: yaml)
        if r.unreadable { return .failure(r.issues) }
        let covered = r.issues.map(\.path) + r.suppressed
        let semantic = ConfigValidator.validate(r.config, zones: zones, staticData: staticData, occluded: occluded,
                                                limits: limits)
            .filter { issue in !covered.contains { ConfigFile.path(issue.path, isAtOrBelow: $0) } }
        let all = r.issues + semantic
        return all.isEmpty ? .success(r.config) : .failure(all)
    }

    /// Reads one object of an API body (a value from `JSONSerialization`) with the reader of files:
    /// the same keys, defaults and messages, with paths from the body (`members[1].address`; empty for
    /// the body itself).
    public static func decode<T: Decodable>(_ type: T.Type, json: Any) -> Result<T, [ConfigIssue]> {
        let log = ConfigIssueLog()
        let value = ConfigNodeDecoder.decode(type, from: ConfigFileReader.node(json: json), log: log)
        if let value, log.issues.isEmpty { return .success(value) }
        return .failure(log.issues.isEmpty ? [ConfigIssue(path: "", message: "cannot be read")] : log.issues)
    }

    /// Reads, decodes and validates a file against the served zones; an unreadable file is one issue with an
    /// empty path.
    public static func load(path: String, zones: [DomainName], staticData: (DomainName) -> Set<RecordType>?,
                            occluded: (DomainName) -> Bool = { _ in false },
                            limits: ConfigLimits = .defaults) -> Result<GSLBConfig, [ConfigIssue]> {
        read(path: path).mapError { [$0] }.flatMap { decode(yaml: $0, zones: zones, staticData: staticData, occluded: occluded, limits: limits) }
    }

    static func read(path: String) -> Result<String, ConfigIssue> {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDir: ObjCBool = false
            let why = !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) ? "no such file"
                : isDir.boolValue ? "is a directory" : "cannot be read"
            return .failure(ConfigIssue(path: "", message: "cannot read the file (\(why))"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(ConfigIssue(path: "", message: "cannot read the file (not UTF-8 text)"))
        }
        return .success(text)
    }

    /// True when `path` is `base` or a place inside it (`base.x`, `base[3]`).
    static func path(_ path: String, isAtOrBelow base: String) -> Bool {
        guard path.hasPrefix(base) else { return false }
        if path.count == base.count { return true }
        let next = path[path.index(path.startIndex, offsetBy: base.count)]
        return next == "." || next == "["
    }
}
