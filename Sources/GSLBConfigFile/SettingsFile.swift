import GSLBCore
import Yams

/// A settings file: a YAML mapping of names to a value or a list of values, as `cairn serve --config FILE` reads
/// (the keys are the command's long flag names). YAML because the GSLB file is YAML already: one syntax, one reader
/// (Yams, through the same `ConfigNode` tree), the same "did you mean" for a misspelt key.
public enum SettingsFile {
    public struct Setting: Equatable, Sendable {
        public let key: String
        /// The value's text; a list's items in order.
        public let values: [String]
        public let isList: Bool
    }

    /// The settings of `yaml` that can be read, in file order, and every problem (an unknown key names the nearest
    /// known one).
    public static func read(yaml: String, known: [String]) -> (settings: [Setting], issues: [ConfigIssue]) {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            return ([], [ConfigIssue(path: "", message: ConfigFileReader.describe(yamlError: error))])
        }
        guard let root else { return ([], []) }   // an empty file sets nothing
        guard case .map(let entries) = ConfigFileReader.node(root) else {
            return ([], [ConfigIssue(path: "", message: "expected a mapping of flag names to values, such as `zones: /etc/cairn/zones`")])
        }
        var settings: [Setting] = []
        var issues: [ConfigIssue] = []
        var seen: Set<String> = []
        for e in entries {
            guard case .scalar(let key, _) = e.key else {
                issues.append(ConfigIssue(path: "", message: "keys must be flag names, got \(e.key.described)"))
                continue
            }
            guard known.contains(key) else {
                issues.append(ConfigIssue(path: key, message: ConfigNodeDecoder.unknownKey(key, in: known)))
                continue
            }
            guard seen.insert(key).inserted else {
                issues.append(ConfigIssue(path: key, message: "given twice"))
                continue
            }
            switch e.value {
            case .scalar(let text, _) where !e.value.isNull:
                settings.append(Setting(key: key, values: [text], isList: false))
            case .list(let items):
                var values: [String] = []
                for (i, item) in items.enumerated() {
                    guard case .scalar(let text, _) = item else {
                        issues.append(ConfigIssue(path: "\(key)[\(i)]", message: "expected a value, got \(item.described)"))
                        continue
                    }
                    values.append(text)
                }
                settings.append(Setting(key: key, values: values, isList: true))
            case .scalar:
                issues.append(ConfigIssue(path: key, message: "no value (write \"\" for an empty one)"))
            default:
                issues.append(ConfigIssue(path: key, message: "expected a value or a list of values, got \(e.value.described)"))
            }
        }
        return (settings, issues)
    }
}
