import ArgumentParser
import Foundation
import GSLBConfigFile

/// Where `cairn serve` takes its settings from, highest first: its flags, the environment (`CAIRN_STORE` or
/// `CAIRN_DB`, `CAIRN_ZONES`: `Environment`), the `--config` file, the defaults. It works on the command line before
/// ArgumentParser parses it: each setting the flags do not give is added as the flag the environment or the file
/// gives, so every value is read and checked by the code that reads the flag, and `--db`/`--store` (one setting)
/// hide each other on a lower level.
enum ServeSettings {
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// A long flag of `cairn serve`: whether it takes a value and may be given more than once.
    struct Flag {
        let takesValue: Bool
        let repeating: Bool
    }

    /// Flags a file may not set: what the command line is for.
    static let commandLineOnly: Set<String> = ["config", "help", "version", "experimental-dump-help"]

    /// The long flags of `cairn serve` (every one of `serve --help`), read from ArgumentParser's own description
    /// of the command.
    static let flags: [String: Flag] = {
        var flags: [String: Flag] = [:]
        guard let root = try? JSONSerialization.jsonObject(with: Data(Serve._dumpHelp().utf8)) as? [String: Any],
              let command = root["command"] as? [String: Any], let arguments = command["arguments"] as? [[String: Any]]
        else { return flags }
        for a in arguments {
            guard let kind = a["kind"] as? String, kind == "option" || kind == "flag" else { continue }
            for n in a["names"] as? [[String: Any]] ?? [] where n["kind"] as? String == "long" {
                guard let name = n["name"] as? String, !commandLineOnly.contains(name) else { continue }
                flags[name] = Flag(takesValue: kind == "option", repeating: a["isRepeating"] as? Bool ?? false)
            }
        }
        return flags
    }()

    /// Flags that set one thing: giving one of them on a level hides all of them on the levels below.
    static func setting(of flag: String) -> Set<String> {
        ["db", "store"].contains(flag) ? ["db", "store"] : [flag]
    }

    /// The long flags `args` gives (`--name VALUE`, `--name=VALUE`, `--flag`), up to a `--`.
    static func given(_ args: [String]) -> Set<String> {
        var names: Set<String> = []
        for a in args {
            if a == "--" { break }
            guard a.hasPrefix("--") else { continue }
            names.insert(String(a.dropFirst(2).prefix { $0 != "=" }))
        }
        return names
    }

    /// `--config FILE` of the command line, if given.
    static func configPath(_ args: [String]) -> String? {
        for (i, a) in args.enumerated() {
            if a == "--" { break }
            if a == "--config" { return i + 1 < args.count ? args[i + 1] : nil }
            if a.hasPrefix("--config=") { return String(a.dropFirst("--config=".count)) }
        }
        return nil
    }

    /// The arguments of `cairn serve` (without `serve`) with the environment's and the `--config` file's settings
    /// added for every setting the flags do not give.
    static func arguments(_ args: [String], environment: [String: String],
                          read: (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) }) throws -> [String] {
        let asked = given(args)
        if asked.contains("help") || asked.contains("experimental-dump-help") || args.contains("-h") { return args }
        var taken = asked.reduce(into: Set<String>()) { $0.formUnion(setting(of: $1)) }
        var added: [String] = []
        func add(_ flag: String, _ value: String) {
            // `--name=-x`: a value that starts with a dash is not read as a flag
            added += value.hasPrefix("-") ? ["--\(flag)=\(value)"] : ["--\(flag)", value]
        }
        // What `serve` takes from the environment. Not `CAIRN_API`: it names the API the commands call, which may be
        // another host's; `serve` listens where `--api` says.
        for (flag, value) in [("store", Environment.store(environment)?.value), ("zones", Environment.zones(environment))] {
            guard let value, !taken.contains(flag) else { continue }
            add(flag, value)
            taken.formUnion(setting(of: flag))
        }
        guard let path = configPath(args) else { return added + args }
        let text: String
        do { text = try read(path) } catch {
            throw Problem(description: "--config \(path): cannot read it (\((error as NSError).localizedDescription))")
        }
        let (settings, issues) = SettingsFile.read(yaml: text, known: flags.keys.sorted())
        var problems = issues.map { "--config \(path): \($0)" }
        for s in settings where !taken.contains(s.key) {
            guard let flag = flags[s.key] else { continue }
            if !flag.takesValue {
                guard !s.isList, let v = s.values.first, v == "true" || v == "false" else {
                    problems.append("--config \(path): \(s.key): true or false (a flag)")
                    continue
                }
                if v == "true" { added.append("--\(s.key)") }
            } else if s.isList && !flag.repeating {
                problems.append("--config \(path): \(s.key): takes one value, not a list")
                continue
            } else {
                for v in s.values { add(s.key, v) }
            }
            taken.formUnion(setting(of: s.key))
        }
        if !problems.isEmpty { throw Problem(description: problems.joined(separator: "\n")) }
        return added + args
    }
}
