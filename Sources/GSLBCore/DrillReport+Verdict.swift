/// The verdict: every affected pool accounted for, judged on what a client may see (Cairn's time-to-failover plus the
/// longest TTL a resolver may have cached), with the causes of a failure named.
extension DrillReport {
    /// The longest TTL a resolver may hold this key's old answer for: the answer's TTL (as seen, else the pool's), and the
    /// negative TTL where an answer became empty.
    static func cacheableTTL(_ s: Seen, _ p: DrillPlan.PoolPlan) -> Int {
        var ttl = s.answerTTL ?? p.ttl
        if s.empty > 0 { ttl = max(ttl, s.negativeTTL ?? p.negativeTTL ?? 0) }
        return ttl
    }

    /// Judges each affected pool that declares `rto` and whose answers had the target: pass when every key moved away from
    /// the target with `time-to-failover + cacheable TTL <= rto` and no empty or SERVFAIL answer; lists the others as not judged.
    public static func verdict(plan: DrillPlan?, measurements m: Measurements?, status: Status) -> Verdict {
        var objectives: [Objective] = []
        var reasons: [String] = []
        var verdicts: [PoolVerdict] = []
        let nodes = Set((m?.seen ?? []).compactMap(\.node))
        for p in plan?.pools ?? [] {
            let name = "\(p.pool) \(p.type)"
            let all = (m?.seen ?? []).filter { $0.pool == p.pool && $0.type == p.type }
            let keys = all.filter(\.hadTarget)
            var clients: [ClientVerdict] = []
            for k in keys {
                let ttl = cacheableTTL(k, p)
                let perceived = k.failover.map { $0 + Double(ttl) }
                clients.append(ClientVerdict(client: k.client, node: k.node, measured: k.failover, ttl: ttl, clientPerceived: perceived,
                                             pass: p.rto.map { rto in perceived.map { $0 <= rto } ?? false }))
            }
            let stuck = keys.filter { $0.firstWithout == nil }
            let (measured, _, failback) = Measurements.summary(all)
            let ttl = clients.map(\.ttl).max()
            let perceived = stuck.isEmpty ? clients.compactMap(\.clientPerceived).max() : nil
            // Causes, named.
            var causes: [String] = []
            if !stuck.isEmpty {
                if p.outcome == "fallback" && (p.fallback ?? "all") == "all" {
                    causes.append("fail-open: no healthy member was left, so the fallback (all) re-served the target")
                } else if p.outcome == "fallback", let f = p.fallback {
                    causes.append("no healthy member was left and the fallback (\(f)) still answered the target")
                } else {
                    let on = Set(stuck.compactMap(\.node)).sorted()
                    let moved = Set(keys.filter { $0.firstWithout != nil }.compactMap(\.node))
                    let late = on.filter { !moved.contains($0) }
                    if nodes.count > 1 && !late.isEmpty {
                        causes.append("node \(late.joined(separator: ", ")) did not converge: its answers still had the target at the end of the hold")
                    } else {
                        causes.append("an answer still had the target at the end of the hold"
                                      + (on.isEmpty ? "" : " (node \(on.joined(separator: ", ")))"))
                    }
                }
            }
            if p.healthyLeft == 0 && p.outcome != "fallback" { causes.append("no surviving member (fallback \(p.fallback ?? "none"))") }
            let empty = all.map(\.empty).reduce(0, +), servfail = all.map(\.servfail).reduce(0, +)
            if empty > 0 { causes.append("\(empty) empty answer(s)") }
            if servfail > 0 { causes.append("\(servfail) SERVFAIL answer(s)") }
            guard let rto = p.rto, m != nil, !keys.isEmpty else {
                let why = p.rto == nil ? "not judged: no rto" : m == nil ? "not judged: not measured" : "not judged: no answer had the target"
                if p.rto != nil && m != nil { reasons.append("\(name): no answer had the target before the drill; its rto does not apply") }
                verdicts.append(PoolVerdict(pool: p.pool, type: p.type, judged: false, result: why, rto: p.rto, measured: measured, ttl: ttl,
                                            clientPerceived: perceived, timeToFailback: failback, causes: causes, clients: clients))
                continue
            }
            if !stuck.isEmpty {
                reasons.append("\(name): " + causes[0])
            }
            // With several nodes: every node that missed the objective, by name.
            let late = Set(clients.filter { ($0.clientPerceived ?? .infinity) > rto }.compactMap(\.node)).sorted()
            if let c = perceived, c > rto {
                let worst = clients.max { ($0.clientPerceived ?? 0) < ($1.clientPerceived ?? 0) }
                let cause = "client-perceived \(fmt(c)) s (time-to-failover \(fmt(worst?.measured ?? 0)) s + TTL \(worst?.ttl ?? 0) s) > rto \(fmt(rto)) s"
                causes.append(cause)
                reasons.append("\(name): \(cause)")
                if nodes.count > 1 && !late.isEmpty { reasons.append("\(name): rto \(fmt(rto)) s missed on node \(late.joined(separator: ", "))") }
            }
            if empty > 0 { reasons.append("\(name): \(empty) empty answer(s)") }
            if servfail > 0 { reasons.append("\(name): \(servfail) SERVFAIL answer(s)") }
            // What a caching resolver named with --resolver actually kept answering counts too.
            var resolversOK = true
            for r in (m?.resolvers ?? []) where r.pool == p.pool && r.type == p.type && r.hadTarget {
                let via = r.resolver ?? r.client
                var cause: String?
                if r.firstWithout == nil {
                    cause = "through resolver \(via) the answers still had the target at the end of the hold"
                } else if let last = r.lastWith, last > rto {
                    cause = "through resolver \(via) the answers had the target until \(fmt(last)) s > rto \(fmt(rto)) s"
                }
                if let cause {
                    resolversOK = false
                    causes.append(cause)
                    reasons.append("\(name): \(cause)")
                }
            }
            let pass = stuck.isEmpty && (perceived.map { $0 <= rto } ?? false) && empty == 0 && servfail == 0 && resolversOK
            objectives.append(Objective(pool: p.pool, type: p.type, rto: rto, measured: measured, pass: pass, ttl: ttl, clientPerceived: perceived))
            verdicts.append(PoolVerdict(pool: p.pool, type: p.type, judged: true, result: pass ? "pass" : "fail", rto: rto, measured: measured,
                                        ttl: ttl, clientPerceived: perceived, timeToFailback: failback, causes: causes, clients: clients))
        }
        let result = objectives.isEmpty ? "none" : objectives.allSatisfy(\.pass) ? "pass" : "fail"
        if status == .interrupted { reasons.append("the drill was interrupted by a restart of Cairn; measurements are partial") }
        return Verdict(result: result, objectives: objectives, reasons: reasons, pools: verdicts)
    }
}
