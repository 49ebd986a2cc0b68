import ArgumentParser
import Foundation
import GSLBCore
import NIOHTTP1

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
        print("plan: fail \(v["target"]?["scope"]?.text ?? "") \(v["target"]?["name"]?.text ?? "")")
        for p in v["pools"]?.array ?? [] {
            print("\n\(p["pool"]?.text ?? "") \(p["type"]?.text ?? "") (\(p["policy"]?.text ?? ""), ttl \(p["ttl"]?.text ?? "")): "
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
        let cap = v["capacity"]
        print("\ncapacity: failed load \(cap?["failed_load"]?.text ?? "-"), surviving capacity \(cap?["surviving_capacity"]?.text ?? "-"), "
              + "surviving load \(cap?["surviving_load"]?.text ?? "-"), headroom \(cap?["headroom"]?.text ?? "-")")
        print("longest TTL clients may hold: \(v["max_ttl"]?.text ?? "-") s")
        for p in v["problems"]?.array ?? [] { print("problem: \(p.text)") }
        print(v["safe"] == .bool(true) ? "safe: yes" : "safe: NO")
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fail the target on purpose for --hold, measure, restore, and print the report (exit 1 if the verdict is fail).")
        @OptionGroup var target: TargetOptions
        @Option(help: "How long the failure lasts: 30s, 10m.") var hold: String
        @Option(help: "override (force the target down) or probe (make its probes fail inside Cairn).") var mode: String = "override"
        @Flag(help: "Run even when the plan is unsafe.") var force = false
        @Flag(help: "Print the drill id and return at once.") var detach = false
        @Flag(help: "Print the report as Markdown.") var markdown = false
        @OptionGroup var options: APIOptions

        func run() throws {
            var body: [String: JSONValue] = ["hold": .string(hold), "mode": .string(mode), "force": .bool(force)]
            for (k, v) in target.pairs { body[k] = .string(v) }
            let r = try options.call(.POST, "/v1/drills", body: JSONValue(body).encoded())
            let v = try JSONValue.decoding(r.body)
            guard let id = v["id"]?.string else { printRaw(r.body); throw ExitCode(1) }
            if detach {
                if options.json { printRaw(r.body) } else { print(id) }
                return
            }
            if !options.json { FileHandle.standardError.write("drill \(id) running for \(hold)...\n".data(using: .utf8)!) }
            try DrillCommand.waitAndPrint(id: id, options: options, markdown: markdown)
        }
    }

    static func waitAndPrint(id: String, options: APIOptions, markdown: Bool) throws {
        let finished: Set<String> = ["completed", "aborted", "interrupted", "refused"]
        var last: APIResponse
        repeat {
            last = try options.call(.GET, apiPath("drills", id))
            let status = JSONValue.decode(last.body)?["status"]?.string ?? ""
            if finished.contains(status) { break }
            Thread.sleep(forTimeInterval: 0.5)
        } while true
        try printReport(id: id, response: last, options: options, markdown: markdown)
    }

    static func printReport(id: String, response: APIResponse, options: APIOptions, markdown: Bool) throws {
        let v = try JSONValue.decoding(response.body)
        if options.json {
            printRaw(response.body)
        } else {
            let r = try options.call(.GET, apiPath("drills", id, "report"), query: [("format", markdown ? "markdown" : "text")])
            FileHandle.standardOutput.write(r.body)
        }
        if v["verdict"]?["result"]?.string == "fail" || v["status"]?.string == "refused" { throw ExitCode(1) }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A drill's report: text, --json, or --markdown for an audit.")
        @Argument var id: String
        @Flag(help: "Print the report as Markdown.") var markdown = false
        @OptionGroup var options: APIOptions
        func run() throws {
            let r = try options.call(.GET, apiPath("drills", id))
            try DrillCommand.printReport(id: id, response: r, options: options, markdown: markdown)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drill history, newest first.")
        @OptionGroup var options: APIOptions
        func run() throws {
            let r = try options.call(.GET, "/v1/drills")
            try options.output(r) { v in
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
        @OptionGroup var options: APIOptions
        func run() throws {
            var body: [String: JSONValue] = ["hold": .string(hold), "mode": .string(mode), "force": .bool(force), "at": .string(at)]
            for (k, v) in target.pairs { body[k] = .string(v) }
            let r = try options.call(.POST, "/v1/drills", body: JSONValue(body).encoded())
            try options.output(r) { v in print("drill \(v["id"]?.text ?? "-") scheduled for \(at)") }
        }
    }
}
