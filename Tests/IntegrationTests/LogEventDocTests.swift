import Foundation
import Testing

/// docs/operations.md's table of log events is the list of events in Sources: every log call site names an event,
/// every event named in Sources has a row with the call's level, and every row is an event some code logs.
@Suite struct LogEventDocTests {
    /// A log call and the event and level it logs with.
    struct Site: CustomStringConvertible {
        let file: String
        let level: String
        let event: String?
        let passedOn: Bool
        var description: String { "\(file): \(level) \(event ?? "(no event)")" }
    }

    static func sources() throws -> [(String, String)] {
        let root = Paths.packageRoot.appendingPathComponent("Sources")
        var files: [(String, String)] = []
        let walker = FileManager.default.enumerator(atPath: root.path)
        while let rel = walker?.nextObject() as? String {
            guard rel.hasSuffix(".swift"), !rel.hasSuffix("OpenAPIDocument.swift") else { continue }
            files.append((rel, try String(contentsOf: root.appendingPathComponent(rel), encoding: .utf8)))
        }
        return files
    }

    /// Every `logger.LEVEL(...)` call, its arguments read up to the parenthesis that closes it.
    static func sites() throws -> [Site] {
        var sites: [Site] = []
        for (file, text) in try sources() {
            let chars = Array(text)
            for m in text.matches(of: #/logger\.(trace|debug|info|notice|warning|error|critical)\(/#) {
                var i = text.distance(from: text.startIndex, to: m.range.upperBound), depth = 1
                let start = i
                while i < chars.count && depth > 0 {
                    if chars[i] == "(" { depth += 1 } else if chars[i] == ")" { depth -= 1 }
                    i += 1
                }
                let call = String(chars[start..<i])
                let event = call.firstMatch(of: #/"event": "([a-z_.]+)"/#).map { String($0.output.1) }
                // a helper that logs the event its callers name (`announce(..., event: "dns.listening")`)
                let passedOn = call.contains(#""event": .string(event)"#)
                sites.append(Site(file: file, level: String(m.output.1), event: event, passedOn: passedOn))
            }
        }
        return sites
    }

    /// `| `event` | levels | when |` rows of the "Logs" section.
    static func table() throws -> [String: String] {
        let text = try String(contentsOf: OperationsDocTests.page, encoding: .utf8)
        var rows: [String: String] = [:]
        for m in text.matches(of: #/\n\| `([a-z_.]+)` \| ([a-z, ]+) \|/#) { rows[String(m.output.1)] = String(m.output.2) }
        return rows
    }

    @Test func everyLogCallNamesAnEventListedWithItsLevel() throws {
        let sites = try Self.sites()
        #expect(sites.count >= 50, "found only \(sites.count) log calls")
        let table = try Self.table()
        for s in sites {
            if s.passedOn { continue }
            guard let event = s.event else { Issue.record("a log call without \"event\": \(s)"); continue }
            guard let levels = table[event] else { Issue.record("docs/operations.md has no row for \(event) (\(s))"); continue }
            let listed = levels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(listed.contains(s.level), "docs/operations.md lists \(event) as \(levels), \(s.file) logs it at \(s.level)")
        }
    }

    @Test func everyEventInTheTableIsLoggedSomewhere() throws {
        var named = Set(try Self.sites().compactMap(\.event))
        // events passed to a helper (`announce(..., event: "dns.listening")`) and the handler's default
        for (_, text) in try Self.sources() {
            for m in text.matches(of: #/event: "([a-z_.]+)"/#) { named.insert(String(m.output.1)) }
            for m in text.matches(of: #/Event = "([a-z_.]+)"/#) { named.insert(String(m.output.1)) }
        }
        let table = try Self.table()
        #expect(table.count >= 40)
        for event in table.keys.sorted() {
            #expect(named.contains(event), "docs/operations.md lists \(event), which nothing in Sources logs")
        }
        for event in named.sorted() { #expect(table[event] != nil, "\(event) is logged but has no row in docs/operations.md") }
    }
}
