import ArgumentParser
import Foundation
import GSLBCore

/// `cairn drill plan|run|show|list|abort|schedule`: failover drills through the admin API.
struct DrillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill", abstract: "Disaster-recovery failover drills: plan, run, show, list, abort, schedule.",
        subcommands: [Plan.self, Run.self, Show.self, List.self, Abort.self, Schedule.self])

    /// Exactly one of --site, --member, --pool.
    struct TargetOptions: ParsableArguments {
        @Option(help: "Fail this site.") var site: String?
        @Option(help: "Fail this member: POOL/ADDRESS.") var member: String?
        @Option(help: "Fail this whole pool.") var pool: String?

        func validate() throws {
            guard [site, member, pool].compactMap({ $0 }).count == 1 else {
                throw ValidationError("name exactly one of --site, --member, --pool")
            }
        }

        var pairs: [(String, String)] { [("site", site), ("member", member), ("pool", pool)].compactMap { k, v in v.map { (k, $0) } } }
    }

    /// Who, why and through which resolvers: `--reason`, `--ticket`, `--resolver` (run and schedule).
    struct RecordOptions: ParsableArguments {
        @Option(help: "Why the drill runs, kept in the report and the audit log.") var reason: String?
        @Option(help: "The change or ticket id the drill belongs to.") var ticket: String?
        @Option(name: .customLong("resolver"),
                help: "Also measure through this caching resolver, ADDRESS[:PORT] (repeatable, at most 4): when its answers stopped and started containing the target.")
        var resolvers: [String] = []

        func add(to body: inout [String: JSONValue]) {
            if let reason { body["reason"] = .string(reason) }
            if let ticket { body["ticket"] = .string(ticket) }
            if !resolvers.isEmpty { body["resolvers"] = .array(resolvers.map { .string($0) }) }
        }
    }

    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What would happen if the target failed (changes nothing). Exits 1 when a pool would have no healthy member.")
        @OptionGroup var target: TargetOptions
        @OptionGroup var options: APIOptions

        func run() throws {
            let r = try options.call(.GET, "/v1/drills/plan", query: target.pairs.map { ($0.0, $0.1) })
            let v = try JSONValue.decoding(r.body)
            if options.json {
                printRaw(r.body)
            } else {
                DrillCommand.printPlan(v)
            }
            if v["safe"] != .bool(true) { throw ExitCode(1) }
        }
    }

    static func printPlan(_ v: JSONValue) {
        print("Plan: what happens if \(v["target"]?["scope"]?.text ?? "") \(v["target"]?["name"]?.text ?? "") fails")
        for p in v["pools"]?.array ?? [] {
            let rto = p["rto"].flatMap { $0 == .null ? nil : $0.text }.map { ", rto \($0) s" } ?? ""
            print("\n\(p["pool"]?.text ?? "") \(p["type"]?.text ?? "") (\(p["policy"]?.text ?? ""), ttl \(p["ttl"]?.text ?? "")\(rto)): "
                  + "\(p["outcome"]?.text ?? ""), \(p["healthy_left"]?.text ?? "") healthy member(s) left")
            var rows: [[String]] = []
            for e in p["entries"]?.array ?? [] {
                func ans(_ a: JSONValue?) -> String {
                    let addrs = (a?["addresses"]?.array ?? []).map(\.text).joined(separator: " ")
                    let sites = (a?["sites"]?.array ?? []).map(\.text).joined(separator: ",")
                    return "\(addrs.isEmpty ? "(empty)" : addrs) [\(sites)]" + (a?["fallback"] == .bool(true) ? " fallback" : "")
                }
                rows.append([e["client"]?.text ?? "", ans(e["now"]), ans(e["failed"]), e["moves"] == .bool(true) ? "moves" : ""])
            }
            printTable(["CLIENT", "NOW", "WITH THE TARGET FAILED", ""], rows)
        }
        let cap = v["capacity"] ?? .null
        let source = cap["failed_load_source"].flatMap { $0 == .null ? nil : $0.text }.map { " (\($0 == "probe" ? "probe-reported" : "configured \($0) load"))" } ?? ""
        print("\ncapacity: failed load \(cap["failed_load"].text)\(source), surviving capacity \(cap["surviving_capacity"].text), "
              + "surviving load \(cap["surviving_load"].text), headroom \(cap["headroom"].text)"
              + (cap["sufficient"] == .bool(false) ? ": the surviving sites would exceed their capacity" : ""))
        for s in cap["survivors"]?.array ?? [] {
            print("  \(s["site"].text): capacity \(s["capacity"].text), load \(s["load"].text)\(s["load_source"].flatMap { $0 == .null ? nil : " (\($0.text))" } ?? "")")
        }
        print("longest TTL clients may hold: \(v["max_ttl"]?.text ?? "-") s")
        for p in v["problems"]?.array ?? [] { print("problem: \(p.text)") }
        for w in v["warnings"]?.array ?? [] { print("warning: \(w.text)") }
        print(v["safe"] == .bool(true) ? "safe: yes" : "safe: NO")
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fail the target on purpose for --hold, measure, restore, and print the report (exit 1 if the verdict is fail).")
        @OptionGroup var target: TargetOptions
        @Option(help: "How long the failure lasts: 30s, 10m.") var hold: String
        @Option(help: "override (force the target down) or probe (make its probes fail inside Cairn).") var mode: String = "override"
        @Flag(help: "Run even when the plan is unsafe (a pool left without a healthy member, too little capacity, the target already drained).")
        var force = false
        @OptionGroup var record: RecordOptions
        @Flag(help: "Print the drill id and return at once.") var detach = false
        @Flag(help: "Print the report as Markdown.") var markdown = false
        @Flag(help: "Print the report as one self-contained HTML page.") var html = false
        @OptionGroup var options: APIOptions

        func run() throws {
            var body: [String: JSONValue] = ["hold": .string(hold), "mode": .string(mode), "force": .bool(force)]
            for (k, v) in target.pairs { body[k] = .string(v) }
            record.add(to: &body)
            let r = try options.call(.POST, "/v1/drills", body: JSONValue(body).encoded())
            guard let id = try JSONValue.decoding(r.body)["id"]?.string else { printRaw(r.body); throw ExitCode(1) }
            if detach {
                if options.json { printRaw(r.body) } else { print(id) }
                return
            }
            if !options.json { FileHandle.standardError.write("drill \(id) running for \(hold)...\n".data(using: .utf8)!) }
            // Wait for the drill to end, then print its report.
            let finished: Set<String> = ["completed", "aborted", "interrupted", "refused"]
            var last = try options.call(.GET, apiPath("drills", id))
            while !finished.contains(JSONValue.decode(last.body)?["status"]?.string ?? "") {
                Thread.sleep(forTimeInterval: 0.5)
                last = try options.call(.GET, apiPath("drills", id))
            }
            try DrillCommand.printReport(id: id, response: last, options: options, format: html ? "html" : markdown ? "markdown" : "text")
        }
    }

    /// `format`: `text`, `markdown` or `html` (the report endpoint's formats); `--json` prints the report document.
    static func printReport(id: String, response: APIResponse, options: APIOptions, format: String) throws {
        let v = try JSONValue.decoding(response.body)
        if options.json {
            printRaw(response.body)
        } else {
            let r = try options.call(.GET, apiPath("drills", id, "report"), query: [("format", format)])
            FileHandle.standardOutput.write(r.body)
        }
        if v["verdict"]?["result"]?.string == "fail" || v["status"]?.string == "refused" { throw ExitCode(1) }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A drill's report: text, --json, --markdown for an audit, or --html for one self-contained page to archive.")
        @Argument var id: String
        @Flag(help: "Print the report as Markdown.") var markdown = false
        @Flag(help: "Print the report as one self-contained HTML page (cairn drill show ID --html > drill-ID.html).") var html = false
        @OptionGroup var options: APIOptions
        func run() throws {
            let r = try options.call(.GET, apiPath("drills", id))
            try DrillCommand.printReport(id: id, response: r, options: options, format: html ? "html" : markdown ? "markdown" : "text")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drill history, newest first.")
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.GET, "/v1/drills")) { v in
                let rows = (v["drills"]?.array ?? []).map { d in
                    ["id", "target", "mode", "status", "started_at", "time_to_failover", "time_to_failback", "verdict"].map { d[$0]?.text ?? "-" }
                }
                printTable(["ID", "TARGET", "MODE", "STATUS", "STARTED", "FAILOVER S", "FAILBACK S", "VERDICT"], rows)
            }
        }
    }

    struct Abort: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a running or scheduled drill now and restore.")
        @Argument var id: String
        @OptionGroup var options: APIOptions
        func run() throws {
            let r = try options.call(.POST, apiPath("drills", id, "abort"))
            try options.output(r) { v in print("drill \(id): \(v["status"]?.text ?? "-")") }
        }
    }

    struct Schedule: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a drill unattended at a time (RFC 3339), with the same safety checks at start.")
        @OptionGroup var target: TargetOptions
        @Option(help: "When: 2026-12-01T02:00:00Z.") var at: String
        @Option(help: "How long the failure lasts: 30s, 15m.") var hold: String
        @Option(help: "override or probe.") var mode: String = "override"
        @Flag(help: "Run even when the plan is unsafe at start.") var force = false
        @OptionGroup var record: RecordOptions
        @OptionGroup var options: APIOptions
        func run() throws {
            var body: [String: JSONValue] = ["hold": .string(hold), "mode": .string(mode), "force": .bool(force), "at": .string(at)]
            for (k, v) in target.pairs { body[k] = .string(v) }
            record.add(to: &body)
            let r = try options.call(.POST, "/v1/drills", body: JSONValue(body).encoded())
            try options.output(r) { v in print("drill \(v["id"]?.text ?? "-") scheduled for \(at)") }
        }
    }
}
