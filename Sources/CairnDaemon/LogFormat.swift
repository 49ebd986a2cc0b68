import Foundation
import GSLBCore
import Logging
import Synchronization

/// `cairn serve --log-format`: how each log line is written to stderr.
/// - `text`: `TIME LEVEL LABEL: METADATA [SOURCE] MESSAGE`, as swift-log's `StreamLogHandler` writes it.
/// - `json`: one JSON object per line: `time` (RFC 3339), `level`, `label`, `event`, `message`, then the metadata.
/// - `journald`: the text line without its time (the journal stamps each line), prefixed with its syslog
///   priority `<N>` (sd-daemon(3)), so `journalctl -p warning` selects by level.
public enum LogFormat: String, CaseIterable, Sendable {
    case text, json, journald
}

/// The one log handler of `cairn serve`: every line carries an `event` (the metadata key call sites set; a line
/// from a library, which sets none, gets `library`) and is written whole, in one `write(2)`, to stderr.
public struct CairnLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let format: LogFormat
    let write: @Sendable (String) -> Void

    /// The event of a line whose call site names none.
    public static let libraryEvent = "library"

    public init(label: String, format: LogFormat, level: Logger.Level,
                write: @escaping @Sendable (String) -> Void = CairnLogHandler.writeStandardError) {
        self.label = label; self.format = format; self.logLevel = level; self.write = write
    }

    /// Makes every `Logger` of the process write through this handler (once, before the first logger is made).
    public static func bootstrap(format: LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap { label in CairnLogHandler(label: label, format: format, level: level) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var meta = metadata
        if let explicit = event.metadata { meta.merge(explicit) { $1 } }
        if let error = event.error {
            meta["error.message"] = "\(error)"
            meta["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        if meta["event"] == nil { meta["event"] = .string(Self.libraryEvent) }
        write(line(level: event.level, message: "\(event.message)", metadata: meta, source: event.source,
                   time: Date().timeIntervalSince1970))
    }

    /// The line (with its newline) for one log call.
    func line(level: Logger.Level, message: String, metadata: Logger.Metadata, source: String, time: Double) -> String {
        switch format {
        case .text:
            return "\(Self.localTimestamp(time)) \(body(level: level, message: message, metadata: metadata, source: source))\n"
        case .journald:
            return "<\(Self.syslogPriority(level))>\(body(level: level, message: message, metadata: metadata, source: source))\n"
        case .json:
            var fields: [JSONValue.Field] = [
                .init(key: "time", value: .string(RFC3339.format(time))),
                .init(key: "level", value: .string(level.rawValue)),
                .init(key: "label", value: .string(label)),
                .init(key: "event", value: Self.json(metadata["event"] ?? .string(Self.libraryEvent))),
                .init(key: "message", value: .string(message)),
            ]
            let reserved: Set<String> = ["time", "level", "label", "event", "message"]
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where key != "event" {
                // A metadata key that shadows a fixed field keeps its value under `meta.KEY`.
                fields.append(.init(key: reserved.contains(key) ? "meta.\(key)" : key, value: Self.json(value)))
            }
            return JSONValue.object(fields).compactText + "\n"
        }
    }

    /// `LEVEL LABEL: k=v ... [SOURCE] MESSAGE`: `StreamLogHandler`'s line after its time stamp.
    func body(level: Logger.Level, message: String, metadata: Logger.Metadata, source: String) -> String {
        let pretty = metadata.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "\(level)\(label.isEmpty ? "" : " ")\(label):\(pretty.isEmpty ? "" : " " + pretty) [\(source)] \(message)"
    }

    /// The syslog priority of a level, as sd-daemon(3) prefixes take it: 7 debug (and trace), 6 info, 5 notice,
    /// 4 warning, 3 error, 2 critical.
    public static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let c): return .string(c.description)
        case .array(let a): return .array(a.map(json))
        case .dictionary(let d): return .object(d.sorted(by: { $0.key < $1.key }).map { .init(key: $0.key, value: json($0.value)) })
        }
    }

    /// `2026-12-05T07:30:02+0000`: local time, as `StreamLogHandler` stamps its lines.
    static func localTimestamp(_ time: Double) -> String {
        var t = time_t(time)
        var parts = tm()
        localtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static let stderrLock = Mutex<Void>(())

    /// One `write(2)` per line (FileHandle retries a short or interrupted write; a failed one is dropped), under a
    /// lock: lines from several threads never mix.
    @Sendable public static func writeStandardError(_ line: String) {
        stderrLock.withLock { _ in try? FileHandle.standardError.write(contentsOf: Data(line.utf8)) }
    }
}
