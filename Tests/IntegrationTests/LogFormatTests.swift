import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `cairn serve --log-format text|json|journald`: the real binary's stderr, line by line, through a start with a zone
/// that loads and one that does not, a health transition, DNS queries in flight and a SIGTERM. The only error-level
/// lines are the broken zone's: none on the way down.
@Suite(.serialized) struct LogFormatTests {
    struct Run {
        let status: Int32
        let lines: [String]
    }

    /// Serves `gslb.test` and a broken `bad.test`, a tcp-monitored member whose backend is killed once it is up,
    /// then stops with SIGTERM while a thread sends UDP queries; returns the exit status and every stderr line.
    static func serve(format: String) throws -> Run {
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        _ = try env.file("zones/bad.test.zone", "$ORIGIN bad.test.\n@ IN SOA ns hostmaster 1 2 3 4 5\nwww IN A 999.1.2.3\n")
        let port = Backend.freePort()
        let backend = try Backend("127.0.0.61", port, mode: "tcp")
        let f = try env.file("gslb.yaml", HealthTests.pool(
            monitor: "{name: m, type: tcp, port: \(port), interval: 200ms, timeout: 150ms, rise: 1, fall: 1}",
            members: [("127.0.0.61", port)]))
        let (rc, out) = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        try #require(rc == 0, "\(out)")
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0",
                                       "--log-format", format])
        // up first, and the cold start over (it answers with every member before any probe)
        let deadline = Date().addingTimeInterval(10)
        while !server.stderr.value.contains("first probe round done") && Date() < deadline { usleep(20_000) }
        #expect(try HealthTests.waitFor(["127.0.0.61"], port: server.port) == ["127.0.0.61"])
        backend.kill()
        #expect(try HealthTests.waitFor([], port: server.port) == [], "\(server.stderr.value)")
        // SIGTERM with queries in flight (bounded: 2,000 queries or 5 s).
        let dnsPort = server.port
        let load = Thread {
            let until = Date().addingTimeInterval(5)
            for _ in 0..<2000 where Date() < until { _ = try? DNSClient.udp("www.gslb.test.", .a, port: dnsPort) }
        }
        load.start()
        usleep(100_000)
        server.stop()
        let log = server.stderr.value
        return Run(status: server.process.terminationStatus,
                   lines: log.split(separator: "\n", omittingEmptySubsequences: true).map(String.init))
    }

    /// The events a run must have: start, zone load, a zone error, a health transition, shutdown.
    static let expectedEvents = ["dns.listening", "api.listening", "ready", "zone.loaded", "zone.load_failed",
                                 "health.transition", "shutdown"]

    @Test func jsonLinesAreEachOneObjectWithTimeLevelEventAndMessage() throws {
        let run = try Self.serve(format: "json")
        #expect(run.status == 0)
        var events: Set<String> = []
        for line in run.lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            guard let object else { Issue.record("not a JSON object: \(line)"); continue }
            let time = object["time"] as? String, level = object["level"] as? String, event = object["event"] as? String
            #expect(time.flatMap { RFC3339Check.parse($0) } != nil, "time: \(line)")
            #expect(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level ?? ""), "level: \(line)")
            #expect(object["message"] is String && object["label"] is String, "\(line)")
            if ["error", "critical"].contains(level ?? "") {
                #expect(event == "zone.load_failed", "an error-level line besides the broken zone's: \(line)")
            }
            if let event { events.insert(event) } else { Issue.record("no event: \(line)") }
            if event == "zone.load_failed" { #expect((object["message"] as? String)?.contains("bad.test") == true) }
        }
        for e in Self.expectedEvents { #expect(events.contains(e), "no \(e) event in:\n\(run.lines.joined(separator: "\n"))") }
    }

    @Test func journaldLinesCarryTheSyslogPriorityOfTheirLevel() throws {
        let run = try Self.serve(format: "journald")
        #expect(run.status == 0)
        let priority = ["trace": 7, "debug": 7, "info": 6, "notice": 5, "warning": 4, "error": 3, "critical": 2]
        var events: Set<String> = []
        for line in run.lines {
            let m = line.wholeMatch(of: #/<([0-7])>([a-z]+) [^ ]+: (.*)/#)
            guard let m, let level = priority[String(m.output.2)] else { Issue.record("no <N>LEVEL prefix: \(line)"); continue }
            #expect(Int(m.output.1) == level, "priority does not match the level: \(line)")
            let event = m.output.3.firstMatch(of: #/(?:^| )event=([a-z_.]+)/#).map { String($0.output.1) }
            if let event { events.insert(event) } else { Issue.record("no event: \(line)") }
            if level <= 3 { #expect(event == "zone.load_failed", "an error-level line besides the broken zone's: \(line)") }
        }
        for e in Self.expectedEvents { #expect(events.contains(e), "no \(e) event in:\n\(run.lines.joined(separator: "\n"))") }
    }

    @Test func textLinesKeepTheirFormatAndGainAnEvent() throws {
        let run = try Self.serve(format: "text")
        #expect(run.status == 0)
        for line in run.lines where !line.hasPrefix("cairn: listening ") {
            // 2026-12-05T07:30:02+0000 info cairn.zones: event=zone.loaded [SnapshotService] serving zone ...
            let m = line.prefixMatch(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} ([a-z]+) [^ ]+: /#)
            #expect(m != nil && line.contains(#/ event=[a-z_.]+ /#) && line.contains(#/ \[[A-Za-z]+\] /#),
                    "not the text format with an event: \(line)")
            if let m, ["error", "critical"].contains(m.output.1) {
                #expect(line.contains("event=zone.load_failed"), "an error-level line besides the broken zone's: \(line)")
            }
        }
        #expect(run.lines.contains { $0.hasPrefix("cairn: listening udp ") })
        #expect(run.lines.contains { $0.contains("event=health.transition") && $0.contains("real state up → down") },
                "\(run.lines.joined(separator: "\n"))")
    }
}

/// RFC 3339 with a zone (`Z` or an offset), fraction optional.
enum RFC3339Check {
    static func parse(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)
    }
}
