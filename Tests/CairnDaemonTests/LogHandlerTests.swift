import Foundation
import GSLBCore
@testable import CairnDaemon
import Logging
import Synchronization
import Testing

/// `CairnLogHandler`'s three formats, through a real `Logger` writing into a buffer.
@Suite struct LogHandlerTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    static func logger(_ format: LogFormat, _ lines: Lines, level: Logger.Level = .trace) -> Logger {
        Logger(label: "cairn.test") { label in
            CairnLogHandler(label: label, format: format, level: level, write: { l in lines.lines.withLock { $0.append(l) } })
        }
    }

    @Test func jsonIsOneObjectPerLineWithTheFixedFieldsFirstAndTheMetadataAsFields() throws {
        let lines = Lines()
        let log = Self.logger(.json, lines)
        log.warning("zone \"x\"\nfailed", metadata: ["event": "zone.load_failed", "file": "x.zone", "line": "3",
                                                    "message": "shadowed", "list": ["a", "b"]])
        let line = try #require(lines.all.first)
        #expect(line.hasSuffix("}\n") && line.dropLast().contains("\n") == false, "one line: \(line)")
        #expect(line.hasPrefix(#"{"time":""#))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "cairn.test")
        #expect(object["event"] as? String == "zone.load_failed")
        #expect(object["message"] as? String == "zone \"x\"\nfailed")
        #expect(object["file"] as? String == "x.zone" && object["line"] as? String == "3")
        #expect(object["meta.message"] as? String == "shadowed")
        #expect(object["list"] as? [String] == ["a", "b"])
        #expect(RFC3339.parse(try #require(object["time"] as? String)) != nil)
        // the fixed fields come first, in this order
        let keys = line.matches(of: #/"([a-z.]+)":/#).prefix(5).map { String($0.output.1) }
        #expect(keys == ["time", "level", "label", "event", "message"])
    }

    @Test func journaldPrefixesEachLineWithTheSyslogPriorityOfItsLevel() {
        let lines = Lines()
        let log = Self.logger(.journald, lines)
        let levels: [(Logger.Level, Int)] = [(.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2)]
        for (level, _) in levels { log.log(level: level, "m", metadata: ["event": "e.x"]) }
        #expect(lines.all.count == levels.count)
        for ((level, priority), line) in zip(levels, lines.all) {
            #expect(line == "<\(priority)>\(level) cairn.test: event=e.x [CairnDaemonTests] m\n")
        }
    }

    @Test func textIsStreamLogHandlersLineAndALineWithoutAnEventIsALibraryLine() {
        let lines = Lines()
        let log = Self.logger(.text, lines)
        log.info("from a library")
        log.notice("with", metadata: ["event": "x.y", "a": "1"])
        let all = lines.all
        #expect(all.count == 2)
        #expect(all[0].wholeMatch(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} info cairn.test: event=library \[CairnDaemonTests\] from a library\n/#) != nil, "\(all[0])")
        #expect(all[1].hasSuffix(" notice cairn.test: a=1 event=x.y [CairnDaemonTests] with\n"), "\(all[1])")
    }

    @Test func linesBelowTheLevelAreNotWritten() {
        let lines = Lines()
        let log = Self.logger(.json, lines, level: .notice)
        log.info("no", metadata: ["event": "a.b"])
        log.notice("yes", metadata: ["event": "a.b"])
        #expect(lines.all.count == 1)
    }
}
