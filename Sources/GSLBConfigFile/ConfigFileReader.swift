import Foundation
import GSLBCore
import Yams

/// Reads a `cairn apply` file (YAML) or an API body (JSON) into a `ConfigNode` and decodes the config
/// objects from it with `ConfigNodeDecoder`, recording every problem with its path. It always
/// produces a value (with defaults in place of unreadable values) so that the validator can still
/// look at everything else.
enum ConfigFileReader {
    struct Output {
        var config: GSLBConfig
        var issues: [ConfigIssue]
        var suppressed: [String]
        /// The file, or a whole section, could not be read: validating the rest would mislead.
        var unreadable: Bool
    }

    static func read(yaml: String) -> Output {
        func unreadable(_ message: String) -> Output {
            Output(config: GSLBConfig(), issues: [ConfigIssue(path: "", message: message)], suppressed: [], unreadable: true)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            return unreadable(describe(yamlError: error))
        }
        guard let root, !node(root).isNull else { return unreadable("the file is empty (write {} for an empty configuration)") }
        let log = ConfigIssueLog()
        let config = ConfigNodeDecoder.decode(GSLBConfig.self, from: node(root), log: log) ?? GSLBConfig()
        // The whole file, a section that is not a list, or an unknown top-level key: references would dangle.
        let dangling = log.issues.contains { !$0.path.contains(".") && !$0.path.contains("[") }
        return Output(config: config, issues: log.issues, suppressed: log.suppressed, unreadable: dangling)
    }

    // MARK: - YAML and JSON as nodes

    static func node(_ n: Node) -> ConfigNode {
        switch n {
        case .scalar(let s):
            switch s.style {
            case .singleQuoted, .doubleQuoted: return .scalar(s.string, .quoted)
            case .literal, .folded: return .scalar(s.string, .block)
            default: return .scalar(s.string, .plain)
            }
        case .sequence(let seq): return .list(seq.map(node))
        case .mapping(let map): return .map(map.map { ConfigNode.Entry(key: node($0.key), value: node($0.value)) })
        case .alias: return .alias
        }
    }

    /// A value from `JSONSerialization`: strings are quoted scalars; numbers, booleans and null plain
    /// scalars with their JSON text; object keys in sorted order (JSON objects have none).
    static func node(json value: Any) -> ConfigNode {
        switch value {
        case let s as String: return .scalar(s, .quoted)
        case let a as [Any]: return .list(a.map { node(json: $0) })
        case let d as [String: Any]:
            return .map(d.keys.sorted().map { ConfigNode.Entry(key: .scalar($0, .quoted), value: node(json: d[$0]!)) })
        case is NSNull: return .null
        default:
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
            return .scalar(data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)", .plain)
        }
    }

    static func describe(yamlError error: Error) -> String {
        guard let e = error as? YamlError else { return "cannot read YAML: \(error)" }
        switch e {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)" + (context.map { " (\($0.text))" } ?? "")
        case .reader(let problem, _, _, _):
            return "cannot read YAML: \(problem)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "line \(context.mark.line), column \(context.mark.column): duplicate key \(duplicates.map { "\"\($0)\"" }.joined(separator: ", "))"
        default:
            return "cannot read YAML: \(e)"
        }
    }
}
