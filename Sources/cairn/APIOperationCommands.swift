import ArgumentParser
import Foundation
import GSLBCore

// The operator's commands: overrides and the one-line drain, health, audit, zones.

/// `--for 2h` | `--until RFC3339` | `--permanent`: exactly one.
struct ExpiryOptions: ParsableArguments {
    @Option(name: .customLong("for"), help: ArgumentHelp("How long the override lasts: 30s, 15m, 2h, 30d.", valueName: "DURATION"))
    var duration: String?

    @Option(help: ArgumentHelp("When the override ends (RFC 3339, e.g. 2030-01-02T15:04:05Z).", valueName: "TIME"))
    var until: String?

    @Flag(help: "The override stays until it is lifted.")
    var permanent = false

    func validate() throws {
        let n = [duration != nil, until != nil, permanent].filter { $0 }.count
        guard n == 1 else { throw ValidationError("give exactly one of --for DURATION, --until TIME, --permanent") }
        if let duration, (TimeSpan.seconds(duration) ?? 0) <= 0 {
            throw ValidationError("--for: \"\(duration)\" is not \(TimeSpan.expected), above 0")
        }
        if let until, RFC3339.parse(until) == nil {
            throw ValidationError("--until: \"\(until)\" is not an RFC 3339 time such as 2030-01-02T15:04:05Z")
        }
    }

    func apply(to o: inout [String: JSONValue]) {
        if let duration, let s = TimeSpan.seconds(duration) { o["expires_in"] = .string(TimeSpan.text(seconds: s)) }
        if let until { o["expires_at"] = .string(until) }
        if permanent { o["permanent"] = .bool(true) }
    }
}

// MARK: - override

struct OverrideCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "override", abstract: "Force sites, pools or members up, down or to drain, for a while.",
        subcommands: [List.self, Show.self, Set.self, Lift.self])

    static let order = ["id", "scope", "target", "state", "reason", "principal", "expires_at", "permanent", "created_at", "drill_id"]

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the active overrides.")
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.GET, "/v1/overrides")) { v in
                let rows = (v["overrides"]?.array ?? []).map { o in
                    [o["id"].text, o["scope"].text, o["target"].text, o["state"].text,
                     o["permanent"] == .bool(true) ? "permanent" : o["expires_at"].text, o["principal"].text, o["reason"].text]
                }
                printTable(["id", "scope", "target", "state", "expires", "principal", "reason"], rows)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one override.")
        @Argument var id: String
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.GET, apiPath("overrides", id))) { printObject($0, order: OverrideCommand.order) }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Force a site, a pool or a member to a state.",
            discussion: "Example: cairn override create --member www.example.com./192.0.2.10 --state down --reason 'disk full' --for 2h",
            aliases: ["set"])
        @Option(help: "Every member at this site.") var site: String?
        @Option(help: "Every member of this pool.") var pool: String?
        @Option(help: ArgumentHelp("One member: POOL/ADDRESS.", valueName: "POOL/ADDRESS")) var member: String?
        @Option(help: "up, down or drain.") var state: String
        @Option(help: "Why (kept in the override and the audit log).") var reason: String
        @OptionGroup var expiry: ExpiryOptions
        @OptionGroup var options: APIOptions

        func validate() throws {
            guard [site, pool, member].compactMap({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --site, --pool, --member")
            }
            guard ["up", "down", "drain"].contains(state) else { throw ValidationError("--state: up, down or drain") }
            if let member, !member.contains("/") { throw ValidationError("--member: POOL/ADDRESS") }
        }

        func run() throws {
            var o: [String: JSONValue] = ["state": .string(state), "reason": .string(reason)]
            if let site { o["scope"] = .string("site"); o["target"] = .string(site) }
            if let pool { o["scope"] = .string("pool"); o["target"] = .string(pool) }
            if let member { o["scope"] = .string("member"); o["target"] = .string(member) }
            expiry.apply(to: &o)
            try options.output(try options.call(.POST, "/v1/overrides", body: JSONValue(o).encoded())) {
                printObject($0, order: OverrideCommand.order)
            }
        }
    }

    struct Lift: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "End an override now.", aliases: ["lift"])
        @Argument var id: String
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.DELETE, apiPath("overrides", id))) { _ in print("lifted override \(id)") }
        }
    }
}

// MARK: - drain

struct DrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain", abstract: "Drain a site for maintenance: no new answers go to it until the override ends.",
        discussion: "Example: cairn drain fra --for 2h --reason 'rack move'. Prints the override's id on stdout (for scripts: ID=$(cairn drain ...)) and what it did on stderr: the site, until when, and the command that lifts it early.")

    @Argument(help: "The site.") var site: String
    @Option(help: "Why (kept in the override and the audit log).") var reason: String
    @OptionGroup var expiry: ExpiryOptions
    @OptionGroup var options: APIOptions

    func run() throws {
        var o: [String: JSONValue] = ["scope": .string("site"), "target": .string(site), "state": .string("drain"), "reason": .string(reason)]
        expiry.apply(to: &o)
        try options.output(try options.call(.POST, "/v1/overrides", body: JSONValue(o).encoded())) { v in
            let id = v["id"].text
            print(id)
            let until = v["expires_at"].flatMap { $0.isNull ? nil : $0.text } ?? "lifted (no expiry)"
            FileHandle.standardError.write(Data("""
                cairn: drained site \(site) until \(until) (override \(id), reason \(JSONValue.string(reason).compactText)); \
                lift it early: cairn override lift \(id)\n
                """.utf8))
        }
    }
}

// MARK: - health

struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Show each member's admin state, real, forced and effective state, and whether it is eligible.")

    @Option(help: "Only this pool.") var pool: String?
    @OptionGroup var options: APIOptions

    func run() throws {
        try options.output(try options.call(.GET, "/v1/health", query: [("pool", pool)])) { v in
            let rows = (v["members"]?.array ?? []).map { h -> [String] in
                var real = h["real"].text
                if h["real_stale"] == .bool(true) { real += " (stale)" }
                if let q = h["quorum"]?.string, let nodes = h["nodes"]?.array {
                    real += " (\(q): \(nodes.map { "\($0["node"].text) \($0["state"].text)" }.joined(separator: ", ")))"
                }
                var forced = h["forced"].text
                if let by = h["forced_by"]?.string, forced != "-" {
                    forced += " by " + (MemberView.forcedByText(by, override: h["forced_override"]?.intValue.map(Int64.init),
                                                                drill: h["forced_drill"]?.string) ?? by)
                }
                var probe = "-", latency = "-"
                if let p = h["last_probe"], !p.isNull {
                    if p["ok"] == .bool(true) {
                        probe = "ok"
                        if let why = p["load_problem"]?.string { probe += " (load unknown: \(why))" }
                    } else {
                        probe = "fail"
                        if let d = p["detail"]?.string, !d.isEmpty { probe += ": \(d)" }
                    }
                    if let at = p["at"]?.string { probe += " at \(at)" }
                    if let i = p["latency_ms"]?.intValue {
                        latency = "\(i)ms"
                    } else if case .number(let t)? = p["latency_ms"], let d = Double(t) {
                        latency = String(format: "%.1fms", d)
                    }
                }
                return [h["pool"].text, h["type"].text, h["address"].text, h["site"].text, h["admin"].text, real, forced,
                        h["effective"].text, h["eligible"] == .bool(true) ? "yes" : "no",
                        h["since"].text, probe, latency, h["flaps"].text, h["load"].text]
            }
            printTable(["pool", "type", "address", "site", "admin", "real", "forced", "effective", "eligible", "since", "last probe",
                        "latency", "flaps", "load"], rows)
        }
    }
}

// MARK: - nodes

struct NodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes", abstract: "List the nodes sharing the store: liveness, heartbeat, and how far each is behind.")

    @OptionGroup var options: APIOptions

    func run() throws {
        try options.output(try options.call(.GET, "/v1/nodes")) { v in
            printTable(["name", "state", "heartbeat", "behind", "generation", "version", "dns", "api"], (v["nodes"]?.array ?? []).map { n in
                [n["name"].text + (n["this"] == .bool(true) ? " *" : ""), n["state"].text, n["heartbeat_age_seconds"].text + "s ago",
                 n["changes_behind"].text, n["generation"].text, n["version"].text,
                 (n["dns"]?.array ?? []).map(\.text).joined(separator: " "), n["api"].text]
            })
        }
    }
}

// MARK: - audit

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Show the audit log: who changed what, when, from where.")

    @Option(help: "Only entries about this object, as the audit log names it (e.g. site:fra, pool:www.example.com./A, override:12).") var object: String?
    @Option(help: ArgumentHelp("Entries from this time on: RFC 3339, or a duration back from now (1h, 7d).", valueName: "TIME|DURATION"))
    var since: String?
    @Option(help: ArgumentHelp("Entries before this time: RFC 3339, or a duration back from now.", valueName: "TIME|DURATION"))
    var until: String?
    @Option(help: "At most this many entries.") var limit: Int?
    @Option(help: "Skip this many entries.") var offset: Int?
    @OptionGroup var options: APIOptions

    static func time(_ s: String?, option: String) throws -> String? {
        guard let s else { return nil }
        if RFC3339.parse(s) != nil { return s }
        if let ago = TimeSpan.seconds(s) {
            return RFC3339.format(Date().timeIntervalSince1970 - ago, fractional: false)
        }
        throw ValidationError("\(option): \"\(s)\" is neither an RFC 3339 time nor a duration such as 1h")
    }

    func run() throws {
        let q: [(String, String?)] = [("object", object), ("since", try Self.time(since, option: "--since")),
                                      ("until", try Self.time(until, option: "--until")),
                                      ("limit", limit.map(String.init)), ("offset", offset.map(String.init))]
        try options.output(try options.call(.GET, "/v1/audit", query: q)) { v in
            let entries = v["entries"]?.array ?? []
            printTable(["id", "time", "principal", "source", "action", "object", "request id"], entries.map { e in
                [e["id"].text, e["time"].text, e["principal"].text, e["source"].text, e["action"].text, e["object"].text, e["request_id"].text]
            })
            if let lim = v["limit"]?.intValue, entries.count == lim, lim > 0 {
                let off = v["offset"]?.intValue ?? 0
                printError("(more: --offset \(off + lim))")
            }
        }
    }
}

// MARK: - zone

struct ZoneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zone", abstract: "List the served zones, or reload them from their files.",
        subcommands: [List.self, Reload.self])

    static func show(_ v: JSONValue) {
        printTable(["origin", "serial", "source"], (v["zones"]?.array ?? []).map { [$0["origin"].text, $0["serial"].text, $0["source"].text] })
        for e in v["errors"]?.array ?? [] { printError("cairn: \(e.text)") }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the served zones and their serials.")
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.GET, "/v1/zones")) { ZoneCommand.show($0) }
        }
    }

    struct Reload: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reload the zone files; exits 1 when a zone has errors (the old data keeps serving).")
        @OptionGroup var options: APIOptions
        func run() throws {
            let r = try options.call(.POST, "/v1/zones/reload")
            let clean = (JSONValue.decode(r.body)?["errors"]?.array ?? []).isEmpty
            try options.output(r) { v in
                ZoneCommand.show(v)
                print("generation: \(v["generation"].text)")
            }
            if !clean { throw ExitCode(1) }
        }
    }
}
