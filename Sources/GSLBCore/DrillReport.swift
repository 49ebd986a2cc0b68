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
        public init(at: Double, event: String) { self.at = at; self.event = event }
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
        /// Time-to-failover of this key: the last answer with the target, 0 when no answer after
        /// the start had it (the change was in place at the first query); nil when it never moved.
        public var failover: Double? {
            guard hadTarget else { return nil }
            if let l = lastWith { return firstWithout == nil ? nil : l }
            return firstWithout == nil ? nil : 0
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

    public struct Objective: Sendable, Codable {
        public var pool: String
        public var type: String
        public var rto: Double
        public var measured: Double?
        public var pass: Bool
    }

    public struct Verdict: Sendable, Codable {
        /// `pass`, `fail` or `none` (no pool declares an `rto`).
        public var result: String
        public var objectives: [Objective]
        public var reasons: [String]
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

    public init(id: String, target: DrillTarget, mode: String, hold: Double, force: Bool, principal: String, createdAt: Double) {
        self.id = id; self.target = target; self.mode = mode; self.hold = hold; self.force = force; self.principal = principal
        self.createdAt = createdAt; status = .scheduled; timeline = []; interrupted = false
    }

    /// The statuses of a drill that has not ended (what the runner watches and resumes).
    public static let unfinished: [Status] = [.scheduled, .running, .restoring]

    public var isFinished: Bool { !DrillReport.unfinished.contains(status) }

    public mutating func log(_ event: String, at: Double) { timeline.append(Event(at: at, event: event)) }

    /// Judges the measured time-to-failover against each affected pool's `rto`.
    public static func verdict(plan: DrillPlan?, measurements m: Measurements?, status: Status) -> Verdict {
        var objectives: [Objective] = []
        var reasons: [String] = []
        for p in plan?.pools ?? [] {
            guard let rto = p.rto else { continue }
            let keys = (m?.seen ?? []).filter { $0.pool == p.pool && $0.type == p.type && $0.hadTarget }
            if m != nil && keys.isEmpty {
                reasons.append("\(p.pool) \(p.type): no answer had the target before the drill; its rto does not apply")
                continue
            }
            let measured = keys.compactMap(\.failover).max()
            let neverMoved = keys.contains { $0.firstWithout == nil }
            let pass = measured.map { $0 <= rto } ?? true
            if neverMoved {
                let on = Set(keys.filter { $0.firstWithout == nil }.compactMap(\.node)).sorted()
                reasons.append("\(p.pool) \(p.type): an answer still had the target at the end of the hold"
                               + (on.isEmpty ? "" : " (node \(on.joined(separator: ", ")))"))
            }
            // With several nodes: every node that missed the objective, by name.
            let late = Set(keys.filter { ($0.failover ?? 0) > rto }.compactMap(\.node)).sorted()
            if !late.isEmpty && !pass {
                reasons.append("\(p.pool) \(p.type): rto \(fmt(rto)) s missed on node \(late.joined(separator: ", "))")
            }
            objectives.append(Objective(pool: p.pool, type: p.type, rto: rto, measured: measured, pass: pass && !neverMoved))
        }
        if (m?.emptyAnswers ?? 0) > 0 { reasons.append("\(m!.emptyAnswers) empty answer(s)") }
        if (m?.servfails ?? 0) > 0 { reasons.append("\(m!.servfails) SERVFAIL answer(s)") }
        for o in objectives where !o.pass {
            reasons.append("\(o.pool) \(o.type): time-to-failover \(o.measured.map { fmt($0) } ?? "-") s > rto \(fmt(o.rto)) s")
        }
        let result: String
        if objectives.isEmpty { result = "none" } else { result = objectives.allSatisfy(\.pass) ? "pass" : "fail" }
        if status == .interrupted { reasons.append("the drill was interrupted by a restart of Cairn; measurements are partial") }
        return Verdict(result: result, objectives: objectives, reasons: reasons)
    }

    static func fmt(_ v: Double) -> String { String(format: "%.3f", v) }
    public static func time(_ t: Double?) -> String {
        guard let t else { return "-" }
        return RFC3339.format(t)
    }

    /// Text for people (`cairn drill show`).
    public var text: String {
        var out = "drill \(id): \(target) (\(mode) mode), hold \(Self.fmt(hold)) s: \(status.rawValue)\n"
        out += "started \(Self.time(startedAt)), restored \(Self.time(restoredAt)), ended \(Self.time(endedAt))\n"
        if let m = measurements {
            out += "time-to-failover \(m.timeToFailover.map { Self.fmt($0) + " s" } ?? "-"), first answer without the target "
            out += "\(m.firstAnswerWithout.map { Self.fmt($0) + " s" } ?? "-"), time-to-failback \(m.timeToFailback.map { Self.fmt($0) + " s" } ?? "-")\n"
            out += "\(m.queries) queries every \(m.intervalMs) ms; traffic during: "
            out += m.sitesDuring.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            out += "; empty \(m.emptyAnswers), SERVFAIL \(m.servfails), timeouts \(m.timeouts)\n"
            for n in m.nodes ?? [] {
                out += "  node \(n.node) (\(n.listener)): time-to-failover \(n.timeToFailover.map { Self.fmt($0) + " s" } ?? "-"), "
                out += "time-to-failback \(n.timeToFailback.map { Self.fmt($0) + " s" } ?? "-"), empty \(n.emptyAnswers), SERVFAIL \(n.servfails), timeouts \(n.timeouts)\n"
            }
            for n in plan?.nodes ?? [] where n.listener == nil { out += "  node \(n.name): \(n.state), not measured\n" }
        }
        if let v = verdict {
            out += "verdict: \(v.result.uppercased())"
            for o in v.objectives { out += "\n  \(o.pool) \(o.type): rto \(Self.fmt(o.rto)) s, measured \(o.measured.map { Self.fmt($0) } ?? "-") s: \(o.pass ? "pass" : "fail")" }
            for r in v.reasons { out += "\n  \(r)" }
            out += "\n"
        }
        if let n = note { out += "note: \(n)\n" }
        return out
    }

    /// A self-contained Markdown report for an audit.
    public var markdown: String {
        var md = "# Failover drill \(id)\n\n"
        md += "| | |\n|---|---|\n"
        md += "| Target | \(target.scope.rawValue) `\(target.name)` |\n| Mode | \(mode) |\n| Hold | \(Self.fmt(hold)) s |\n"
        md += "| Status | **\(status.rawValue)**\(interrupted ? " (interrupted)" : "") |\n| Started by | \(principal) |\n"
        md += "| Started | \(Self.time(startedAt)) |\n| Restored | \(Self.time(restoredAt)) |\n| Ended | \(Self.time(endedAt)) |\n"
        if let v = verdict { md += "| Verdict | **\(v.result.uppercased())** |\n" }
        md += "\n"
        if let m = measurements {
            if let nodes = m.nodes {
                md += "## Measured\n\nQueries to the DNS listener of every live node over UDP every \(m.intervalMs) ms for every "
                md += "affected pool and topology entry (ECS), \(m.queries) in all. The figures below the table are the worst over the nodes.\n\n"
                md += "| Node | Listener | Failover s | Failback s | Empty | SERVFAIL | Timeouts |\n|---|---|---|---|---|---|---|\n"
                for n in nodes {
                    md += "| \(n.node) | \(n.listener) | \(n.timeToFailover.map { Self.fmt($0) } ?? "-") | \(n.timeToFailback.map { Self.fmt($0) } ?? "-") | "
                    md += "\(n.emptyAnswers) | \(n.servfails) | \(n.timeouts) |\n"
                }
                for n in plan?.nodes ?? [] where n.listener == nil { md += "| \(n.name) | \(n.state): not measured | - | - | - | - | - |\n" }
                md += "\n"
            } else {
                md += "## Measured\n\nQueries to Cairn's own DNS listener over UDP every \(m.intervalMs) ms for every affected pool "
                md += "and topology entry (ECS), \(m.queries) in all.\n\n"
            }
            md += "- Time-to-failover (start → last answer with the target): **\(m.timeToFailover.map { Self.fmt($0) + " s" } ?? "-")**\n"
            md += "- First answer without the target: \(m.firstAnswerWithout.map { Self.fmt($0) + " s" } ?? "-")\n"
            md += "- Time-to-failback (restore → first answer with the target): **\(m.timeToFailback.map { Self.fmt($0) + " s" } ?? "-")**\n"
            md += "- Empty answers: \(m.emptyAnswers); SERVFAIL: \(m.servfails); timeouts: \(m.timeouts)\n"
            md += "- Traffic during the drill by site: "
            md += m.sitesDuring.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n\n"
            let byNode = m.nodes != nil
            md += (byNode ? "| Node " : "") + "| Pool | Client | Before | During | After | Failover s | Failback s |\n"
            md += (byNode ? "|---" : "") + "|---|---|---|---|---|---|---|\n"
            func sites(_ d: [String: Int]) -> String { d.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }
            for s in m.seen {
                md += (byNode ? "| \(s.node ?? "-") " : "") + "| \(s.pool) \(s.type) | \(s.client) | \(sites(s.before)) | \(sites(s.during)) | \(sites(s.after)) | "
                md += "\(s.failover.map { Self.fmt($0) } ?? "-") | \(s.failback.map { Self.fmt($0) } ?? "-") |\n"
            }
            md += "\n"
        }
        if let v = verdict {
            md += "## Verdict: \(v.result.uppercased())\n\n"
            if v.objectives.isEmpty { md += "No affected pool declares an `rto`.\n" }
            for o in v.objectives {
                md += "- \(o.pool) \(o.type): objective \(Self.fmt(o.rto)) s, measured \(o.measured.map { Self.fmt($0) + " s" } ?? "-"): \(o.pass ? "pass" : "**fail**")\n"
            }
            for r in v.reasons { md += "- \(r)\n" }
            md += "\n"
        }
        if let p = plan {
            md += "## Plan\n\nSafe: \(p.safe ? "yes" : "**no**"). Longest TTL clients may hold: \(p.maxTTL) s.\n\n"
            if let nodes = p.nodes {
                md += "Nodes: " + nodes.map { n in n.listener.map { "\(n.name) (measured at \($0))" } ?? "\(n.name) (**\(n.state)**: not measured)" }
                    .joined(separator: ", ") + ".\n\n"
            }
            for pp in p.pools {
                md += "### \(pp.pool) \(pp.type) (\(pp.policy), ttl \(pp.ttl)): \(pp.outcome), \(pp.healthyLeft) healthy member(s) left\n\n"
                md += "| Client | Now | With the target failed |\n|---|---|---|\n"
                for e in pp.entries {
                    md += "| \(e.client) | \(e.now.addresses.joined(separator: " ")) (\(e.now.sites.joined(separator: ", "))) | "
                    md += "\(e.failed.addresses.joined(separator: " ")) (\(e.failed.sites.joined(separator: ", ")))\(e.failed.fallback ? " fallback" : "") |\n"
                }
                md += "\n"
            }
            if let h = p.capacity.headroom { md += "Capacity headroom after failover: \(h)\n\n" }
            for pr in p.problems { md += "- \(pr)\n" }
        }
        md += "## Timeline\n\n"
        for e in timeline { md += "- \(Self.time(e.at)): \(e.event)\n" }
        if let n = note { md += "\nNote: \(n)\n" }
        return md
    }
}
