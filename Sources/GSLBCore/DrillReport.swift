import Foundation

/// Everything a drill did and measured; kept in SQLite as JSON and shown as text, JSON or Markdown.
public struct DrillReport: Sendable, Codable {
    public enum Status: String, Sendable, Codable {
        /// Waiting for `scheduledAt`.
        case scheduled
        case running
        /// The failure is lifted; failback is being measured.
        case restoring
        case completed
        /// Ended early by `drill abort`.
        case aborted
        /// Cairn stopped during the drill; it was still ended on time, but measurements are partial.
        case interrupted
        /// Refused at start (unsafe plan without --force, another drill on the object, ...).
        case refused
    }

    public struct Event: Sendable, Codable {
        /// Seconds since the Unix epoch.
        public var at: Double
        public var event: String
    }

    /// What one query key (pool × client) saw.
    public struct Seen: Sendable, Codable {
        /// The node whose DNS listener answered (with several nodes; nil for one).
        public var node: String?
        public var pool: String
        public var type: String
        public var client: String
        /// Answers by site before the failure, during it, and after the restore.
        public var before: [String: Int]
        public var during: [String: Int]
        public var after: [String: Int]
        /// Seconds from the start to the first answer without the target.
        public var firstWithout: Double?
        /// Seconds from the start to the last answer with the target (time-to-failover).
        public var lastWith: Double?
        /// Seconds from the restore to the first answer with the target again (time-to-failback).
        public var failback: Double?
        /// True when the target was in this key's answers before the drill.
        public var hadTarget: Bool
        public var empty: Int
        public var servfail: Int
        public var timeouts: Int
        /// The longest TTL of the answers that had the target (what a resolver may cache them for).
        public var answerTTL: Int? = nil
        /// The negative TTL of the empty answers (min(SOA TTL, MINIMUM) of their authority SOA), when some were empty.
        public var negativeTTL: Int? = nil
        /// With `--resolver`: the caching resolver these queries went through (`127.0.0.1:53`); nil for Cairn's own listener.
        public var resolver: String? = nil
        /// Time-to-failover of this key: the last answer with the target, 0 when no answer after
        /// the start had it (the change was in place at the first query); nil when it never moved.
        public var failover: Double? {
            guard hadTarget, firstWithout != nil else { return nil }
            return lastWith ?? 0
        }
        public init(pool: String, type: String, client: String, node: String? = nil) {
            self.pool = pool; self.type = type; self.client = client; self.node = node
            before = [:]; during = [:]; after = [:]; hadTarget = false; empty = 0; servfail = 0; timeouts = 0
        }
    }

    public struct Measurements: Sendable, Codable {
        public var queries: Int
        public var intervalMs: Int
        /// The worst key: the longest time-to-failover, and to failback.
        public var timeToFailover: Double?
        public var firstAnswerWithout: Double?
        public var timeToFailback: Double?
        public var sitesDuring: [String: Int]
        public var emptyAnswers: Int
        public var servfails: Int
        public var timeouts: Int
        public var seen: [Seen]
        /// With several nodes: each measured node's own figures (the top-level ones are the worst over them).
        public var nodes: [NodeResult]?
        /// With `--resolver`: what each caching resolver answered, one row per resolver and affected pool (queried without
        /// ECS: the resolver's clients' view). Not part of the top-level figures.
        public var resolvers: [Seen]? = nil
        /// Answers Cairn's DNS listener(s) gave to everyone during the hold, by site, from its own query counters, and the
        /// part of them that were not the drill's own test queries; nil when the counters are not available.
        public var realClients: RealTraffic? = nil
        public init(queries: Int, intervalMs: Int, timeToFailover: Double?, firstAnswerWithout: Double?, timeToFailback: Double?,
                    sitesDuring: [String: Int], emptyAnswers: Int, servfails: Int, timeouts: Int, seen: [Seen]) {
            self.queries = queries; self.intervalMs = intervalMs; self.timeToFailover = timeToFailover
            self.firstAnswerWithout = firstAnswerWithout; self.timeToFailback = timeToFailback; self.sitesDuring = sitesDuring
            self.emptyAnswers = emptyAnswers; self.servfails = servfails; self.timeouts = timeouts; self.seen = seen
        }

        /// The figures of `seen` (all of it, or one node's part): worst time-to-failover over the keys that had
        /// the target (nil while one has not moved), first answer without it, worst failback.
        public static func summary(_ seen: [Seen]) -> (failover: Double?, firstWithout: Double?, failback: Double?) {
            let moved = seen.filter(\.hadTarget)
            return (moved.contains { $0.failover == nil } ? nil : moved.compactMap(\.failover).max(),
                    moved.compactMap(\.firstWithout).max(),
                    moved.isEmpty || moved.contains { $0.failback == nil } ? nil : moved.compactMap(\.failback).max())
        }
    }

    /// One node's part of a drill measured through several nodes.
    public struct NodeResult: Sendable, Codable {
        public var node: String
        public var listener: String
        public var timeToFailover: Double?
        public var timeToFailback: Double?
        public var emptyAnswers: Int
        public var servfails: Int
        public var timeouts: Int
        public init(node: String, listener: String, seen: [Seen]) {
            self.node = node; self.listener = listener
            let s = Measurements.summary(seen)
            timeToFailover = s.failover; timeToFailback = s.failback
            emptyAnswers = seen.map(\.empty).reduce(0, +); servfails = seen.map(\.servfail).reduce(0, +); timeouts = seen.map(\.timeouts).reduce(0, +)
        }
    }

    /// The real clients' traffic during the hold, from the measuring node's own counters.
    public struct RealTraffic: Sendable, Codable {
        /// What is counted, in words.
        public var counts: String
        /// The node whose counters these are (nil for one node).
        public var node: String?
        /// Answers handed out by site, everything the listener answered for the affected pools during the hold.
        public var all: [String: Int]
        /// The same minus the drill's own test queries answered by this node: the real clients.
        public var clients: [String: Int]
        public init(counts: String, node: String?, all: [String: Int], clients: [String: Int]) {
            self.counts = counts; self.node = node; self.all = all; self.clients = clients
        }
    }

    public struct Objective: Sendable, Codable {
        public var pool: String
        public var type: String
        public var rto: Double
        /// Cairn's own time-to-failover (the last answer with the target, worst key).
        public var measured: Double?
        public var pass: Bool
        /// The longest TTL a resolver may have cached the old answer for (answer TTL, or the negative TTL where an
        /// answer became empty).
        public var ttl: Int? = nil
        /// What a client may see: the worst `measured + ttl` over the pool's keys; compared with `rto`.
        public var clientPerceived: Double? = nil
    }

    /// Every affected pool, judged or not.
    public struct PoolVerdict: Sendable, Codable {
        public var pool: String
        public var type: String
        /// False when the pool declares no `rto`, or no answer had the target before the drill.
        public var judged: Bool
        /// `pass`, `fail`, or `not judged: no rto` / `not judged: no answer had the target`.
        public var result: String
        public var rto: Double?
        /// Worst over the pool's keys: Cairn's time-to-failover, cacheable TTL, and their sum.
        public var measured: Double?
        public var ttl: Int?
        public var clientPerceived: Double?
        public var timeToFailback: Double?
        /// Named causes of a failure (or of trouble in a pool not judged).
        public var causes: [String]
        /// Per client network (and node): the figures behind the worst.
        public var clients: [ClientVerdict]
    }

    public struct ClientVerdict: Sendable, Codable {
        public var client: String
        public var node: String?
        public var measured: Double?
        public var ttl: Int
        public var clientPerceived: Double?
        public var pass: Bool?
    }

    public struct Verdict: Sendable, Codable {
        /// `pass`, `fail` or `none` (no affected pool declares an `rto`).
        public var result: String
        /// The judged pools.
        public var objectives: [Objective]
        public var reasons: [String]
        /// Every affected pool, judged or not, with its figures and causes.
        public var pools: [PoolVerdict]? = nil
    }

    public var id: String
    public var target: DrillTarget
    /// `override` or `probe`.
    public var mode: String
    /// Seconds the failure is held.
    public var hold: Double
    public var force: Bool
    public var status: Status
    public var principal: String
    public var createdAt: Double
    public var scheduledAt: Double?
    public var startedAt: Double?
    public var restoredAt: Double?
    public var endedAt: Double?
    public var overrideID: Int64?
    public var plan: DrillPlan?
    public var timeline: [Event]
    public var measurements: Measurements?
    public var verdict: Verdict?
    public var interrupted: Bool
    public var note: String?
    /// Why the drill runs (`--reason`) and the change or ticket it belongs to (`--ticket`).
    public var reason: String? = nil
    public var ticket: String? = nil
    /// The node that accepted the request (`--node-name`; the host name for one node) and the requester's address.
    public var node: String? = nil
    public var source: String? = nil
    /// Caching resolvers the drill also measures through (`--resolver`).
    public var resolvers: [String]? = nil
    /// Probe mode on a site: its members without a monitor, which stay up (override mode would fail them).
    public var unmonitored: [String]? = nil
    /// The Cairn version that wrote the report.
    public var cairnVersion: String? = nil
    /// SHA-256 (hex) of the Markdown report above its last line, set when the drill ends (`contentHashLine`).
    public var contentHash: String? = nil

    public init(id: String, target: DrillTarget, mode: String, hold: Double, force: Bool, principal: String, createdAt: Double) {
        self.id = id; self.target = target; self.mode = mode; self.hold = hold; self.force = force; self.principal = principal
        self.createdAt = createdAt; status = .scheduled; timeline = []; interrupted = false
    }

    /// The statuses of a drill that has not ended (what the runner watches and resumes).
    public static let unfinished: [Status] = [.scheduled, .running, .restoring]

    public var isFinished: Bool { !DrillReport.unfinished.contains(status) }

    public mutating func log(_ event: String, at: Double) { timeline.append(Event(at: at, event: event)) }

    static func fmt(_ v: Double) -> String { String(format: "%.3f", v) }
    public static func time(_ t: Double?) -> String { t.map { RFC3339.format($0) } ?? "-" }

    /// Who started the drill, why, and through which node.
    var startedBy: String {
        var s = principal
        if let node { s += " on node \(node)" }
        if let source { s += " from \(source)" }
        return s
    }

    static func sites(_ d: [String: Int]) -> String { d.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }
    static func secs(_ v: Double?) -> String { v.map { fmt($0) + " s" } ?? "-" }

    /// Text for people (`cairn drill show`).
    public var text: String {
        var out = "drill \(id): \(target) (\(mode) mode), hold \(Self.fmt(hold)) s: \(status.rawValue)\n"
        out += "started by \(startedBy)"
        if let reason { out += "; reason: \(reason)" }
        if let ticket { out += "; ticket \(ticket)" }
        out += "\nstarted \(Self.time(startedAt)), restored \(Self.time(restoredAt)), ended \(Self.time(endedAt))\n"
        if let u = unmonitored, !u.isEmpty { out += "not failed (no monitor; override mode would fail them): \(u.joined(separator: ", "))\n" }
        if let m = measurements {
            out += "time-to-failover \(Self.secs(m.timeToFailover)), first answer without the target "
            out += "\(Self.secs(m.firstAnswerWithout)), time-to-failback \(Self.secs(m.timeToFailback))\n"
            out += "test queries: \(m.queries) in all, one per pool and client every \(m.intervalMs) ms; answers to them during the hold by site: "
            out += Self.sites(m.sitesDuring)
            out += "; empty \(m.emptyAnswers), SERVFAIL \(m.servfails), timeouts \(m.timeouts)\n"
            if let rc = m.realClients { out += "real clients during the hold (\(rc.counts)): \(rc.clients.isEmpty ? "none" : Self.sites(rc.clients))\n" }
            for n in m.nodes ?? [] {
                out += "  node \(n.node) (\(n.listener)): time-to-failover \(Self.secs(n.timeToFailover)), "
                out += "time-to-failback \(Self.secs(n.timeToFailback)), empty \(n.emptyAnswers), SERVFAIL \(n.servfails), timeouts \(n.timeouts)\n"
            }
            for n in plan?.nodes ?? [] where n.listener == nil { out += "  node \(n.name): \(n.state), not measured\n" }
            for r in m.resolvers ?? [] {
                out += "  resolver \(r.resolver ?? r.client) \(r.pool) \(r.type): answers stopped containing the target at \(Self.secs(r.firstWithout)), "
                out += "contained it again \(Self.secs(r.failback)) after the restore\(r.hadTarget ? "" : " (never had it)"), timeouts \(r.timeouts)\n"
            }
        }
        if let v = verdict {
            out += "verdict: \(v.result.uppercased())"
            if let pools = v.pools {
                for p in pools {
                    out += "\n  \(p.pool) \(p.type): "
                    if let rto = p.rto, p.judged {
                        out += "rto \(Self.fmt(rto)) s, client-perceived \(Self.secs(p.clientPerceived)) (time-to-failover \(Self.secs(p.measured)) + TTL \(p.ttl.map { "\($0) s" } ?? "-")): \(p.result)"
                    } else {
                        out += "\(p.result), time-to-failover \(Self.secs(p.measured)), TTL \(p.ttl.map { "\($0) s" } ?? "-")"
                    }
                    for c in p.causes { out += "\n    cause: \(c)" }
                }
            } else {
                for o in v.objectives { out += "\n  \(o.pool) \(o.type): rto \(Self.fmt(o.rto)) s, measured \(o.measured.map { Self.fmt($0) } ?? "-") s: \(o.pass ? "pass" : "fail")" }
            }
            for r in v.reasons { out += "\n  \(r)" }
            out += "\n"
        }
        if let n = note { out += "note: \(n)\n" }
        if let h = contentHash { out += "content hash (SHA-256 of the Markdown report): \(h)\n" }
        return out
    }

    /// A self-contained Markdown report for an audit. Its last line carries the content hash once the drill has ended.
    public var markdown: String { markdownBody + contentHashLine }

    /// The hash line: SHA-256 of everything above it (`head -n -1 report.md | sha256sum`).
    var contentHashLine: String { contentHash.map { "\nContent hash (SHA-256 of everything above this line): `\($0)`\n" } ?? "" }

    var markdownBody: String {
        var md = "# Failover drill \(id)\n\n"
        md += "| | |\n|---|---|\n"
        md += "| Target | \(target.scope.rawValue) `\(target.name)` |\n| Mode | \(mode) |\n| Hold | \(Self.fmt(hold)) s |\n"
        md += "| Status | **\(status.rawValue)**\(interrupted ? " (interrupted)" : "") |\n| Started by | \(startedBy) |\n"
        md += "| Reason | \(reason ?? "-") |\n| Ticket | \(ticket ?? "-") |\n"
        md += "| Started | \(Self.time(startedAt)) |\n| Restored | \(Self.time(restoredAt)) |\n| Ended | \(Self.time(endedAt)) |\n"
        if let v = verdict { md += "| Verdict | **\(v.result.uppercased())** |\n" }
        md += "| Cairn | \(cairnVersion ?? "-") |\n"
        md += "\n"
        if let u = unmonitored, !u.isEmpty {
            md += "Probe mode failed only the monitored members; not failed (no monitor, override mode would be needed): \(u.joined(separator: ", ")).\n\n"
        }
        if let m = measurements {
            if let nodes = m.nodes {
                md += "## Measured\n\nTest queries by the drill to the DNS listener of every live node over UDP every \(m.intervalMs) ms for every "
                md += "affected pool and topology entry (ECS), \(m.queries) in all. The figures below the table are the worst over the nodes.\n\n"
                md += "| Node | Listener | Failover s | Failback s | Empty | SERVFAIL | Timeouts |\n|---|---|---|---|---|---|---|\n"
                for n in nodes {
                    md += "| \(n.node) | \(n.listener) | \(n.timeToFailover.map { Self.fmt($0) } ?? "-") | \(n.timeToFailback.map { Self.fmt($0) } ?? "-") | "
                    md += "\(n.emptyAnswers) | \(n.servfails) | \(n.timeouts) |\n"
                }
                for n in plan?.nodes ?? [] where n.listener == nil { md += "| \(n.name) | \(n.state): not measured | - | - | - | - | - |\n" }
                md += "\n"
            } else {
                md += "## Measured\n\nTest queries by the drill to Cairn's own DNS listener over UDP every \(m.intervalMs) ms for every affected pool "
                md += "and topology entry (ECS), \(m.queries) in all.\n\n"
            }
            md += "- Time-to-failover, Cairn's answers (start → last answer with the target): **\(Self.secs(m.timeToFailover))**\n"
            md += "- First answer without the target: \(Self.secs(m.firstAnswerWithout))\n"
            md += "- Time-to-failback (restore → first answer with the target): **\(Self.secs(m.timeToFailback))**\n"
            md += "- Empty answers: \(m.emptyAnswers); SERVFAIL: \(m.servfails); timeouts: \(m.timeouts)\n"
            md += "- Answers to the drill's own test queries during the hold, by site: " + Self.sites(m.sitesDuring) + "\n"
            if let rc = m.realClients {
                md += "- Real clients during the hold (\(rc.counts)): \(rc.clients.isEmpty ? "none" : Self.sites(rc.clients))\n"
            }
            md += "\n"
            let byNode = m.nodes != nil
            md += (byNode ? "| Node " : "") + "| Pool | Client | Before | During | After | Failover s | Failback s |\n"
            md += (byNode ? "|---" : "") + "|---|---|---|---|---|---|---|\n"
            for s in m.seen {
                md += (byNode ? "| \(s.node ?? "-") " : "") + "| \(s.pool) \(s.type) | \(s.client) | \(Self.sites(s.before)) | \(Self.sites(s.during)) | \(Self.sites(s.after)) | "
                md += "\(s.failover.map { Self.fmt($0) } ?? "-") | \(s.failback.map { Self.fmt($0) } ?? "-") |\n"
            }
            md += "\n"
            if let rs = m.resolvers, !rs.isEmpty {
                md += "## Through caching resolvers\n\nThe same names asked every \(m.intervalMs) ms through the resolvers named with `--resolver` "
                md += "(their clients' view, with their own caches). Seconds from the start of the failure, and from the restore.\n\n"
                md += "| Resolver | Pool | Stopped containing the target | Last with the target | Contained it again | TTL | Timeouts |\n"
                md += "|---|---|---|---|---|---|---|\n"
                for r in rs {
                    md += "| \(r.resolver ?? r.client) | \(r.pool) \(r.type) | \(r.hadTarget ? Self.secs(r.firstWithout) : "never had it") | \(Self.secs(r.lastWith)) | "
                    md += "\(Self.secs(r.failback)) | \(r.answerTTL.map { "\($0) s" } ?? "-") | \(r.timeouts) |\n"
                }
                md += "\n"
            }
        }
        if let v = verdict {
            md += "## Verdict: \(v.result.uppercased())\n\n"
            md += "A client may be sent to the failed target until Cairn's answers moved (time-to-failover) plus the longest TTL its "
            md += "resolver may have cached the old answer for (the negative TTL where an answer became empty): that sum, the "
            md += "client-perceived recovery time, is judged against the pool's `rto`.\n\n"
            if let pools = v.pools {
                md += "| Pool | rto s | Time-to-failover s | TTL s | Client-perceived s | Result | Causes |\n|---|---|---|---|---|---|---|\n"
                for p in pools {
                    md += "| \(p.pool) \(p.type) | \(p.rto.map { Self.fmt($0) } ?? "-") | \(p.measured.map { Self.fmt($0) } ?? "-") | \(p.ttl.map(String.init) ?? "-") | "
                    md += "\(p.clientPerceived.map { Self.fmt($0) } ?? "-") | \(p.judged ? (p.result == "pass" ? "pass" : "**fail**") : p.result) | "
                    md += "\(p.causes.isEmpty ? "-" : p.causes.joined(separator: "; ")) |\n"
                }
                md += "\n"
                let rows = pools.flatMap { p in p.clients.map { (p, $0) } }
                if !rows.isEmpty {
                    md += "| Pool | Client | Node | Time-to-failover s | TTL s | Client-perceived s |\n|---|---|---|---|---|---|\n"
                    for (p, c) in rows {
                        md += "| \(p.pool) \(p.type) | \(c.client) | \(c.node ?? "-") | \(c.measured.map { Self.fmt($0) } ?? "-") | \(c.ttl) | "
                        md += "\(c.clientPerceived.map { Self.fmt($0) } ?? "-") |\n"
                    }
                    md += "\n"
                }
            } else {
                if v.objectives.isEmpty { md += "No affected pool declares an `rto`.\n" }
                for o in v.objectives {
                    md += "- \(o.pool) \(o.type): objective \(Self.fmt(o.rto)) s, measured \(Self.secs(o.measured)): \(o.pass ? "pass" : "**fail**")\n"
                }
            }
            for r in v.reasons { md += "- \(r)\n" }
            if !v.reasons.isEmpty || v.pools == nil { md += "\n" }
        }
        if let p = plan {
            md += "## Plan: what happens if \(p.target.scope.rawValue) \(p.target.name) fails\n\nSafe: \(p.safe ? "yes" : "**no**"). Longest TTL clients may hold: \(p.maxTTL) s.\n\n"
            if let nodes = p.nodes {
                md += "Nodes: " + nodes.map { n in n.listener.map { "\(n.name) (measured at \($0))" } ?? "\(n.name) (**\(n.state)**: not measured)" }
                    .joined(separator: ", ") + ".\n\n"
            }
            for pp in p.pools {
                md += "### \(pp.pool) \(pp.type) (\(pp.policy), ttl \(pp.ttl)\(pp.rto.map { ", rto \(Self.fmt($0)) s" } ?? "")): \(pp.outcome), "
                md += "\(pp.healthyLeft) healthy member(s) left\n\n"
                md += "| Client | Now | With the target failed |\n|---|---|---|\n"
                for e in pp.entries {
                    md += "| \(e.client) | \(e.now.addresses.joined(separator: " ")) (\(e.now.sites.joined(separator: ", "))) | "
                    md += "\(e.failed.addresses.joined(separator: " ")) (\(e.failed.sites.joined(separator: ", ")))\(e.failed.fallback ? " fallback" : "") |\n"
                }
                md += "\n"
            }
            md += Self.capacityMarkdown(p.capacity)
            for pr in p.problems { md += "- \(pr)\n" }
            for w in p.warnings ?? [] { md += "- warning: \(w)\n" }
            if !p.problems.isEmpty || !(p.warnings ?? []).isEmpty { md += "\n" }
        }
        md += "## Timeline\n\n"
        for e in timeline { md += "- \(Self.time(e.at)): \(e.event)\n" }
        if let n = note { md += "\nNote: \(n)\n" }
        return md
    }

    static func capacityMarkdown(_ c: DrillPlan.Capacity) -> String {
        func n(_ v: Double?) -> String { v.map { ConfigValidator.number($0) } ?? "-" }
        var md = "Capacity: failed load \(n(c.failedLoad))\(c.failedLoadSource.map { " (\($0 == "probe" ? "probe-reported" : "configured \($0) load"))" } ?? ""), "
        md += "surviving capacity \(n(c.survivingCapacity)), surviving load \(n(c.survivingLoad)), headroom after failover \(n(c.headroom))"
        md += c.sufficient == false ? ": **the surviving sites would exceed their capacity**.\n\n" : ".\n\n"
        if !c.survivors.isEmpty {
            md += "| Surviving site | Capacity | Load | Load from |\n|---|---|---|---|\n"
            for s in c.survivors { md += "| \(s.site) | \(n(s.capacity)) | \(n(s.load)) | \(s.loadSource ?? "-") |\n" }
            md += "\n"
        }
        return md
    }
}
