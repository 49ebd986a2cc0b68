@testable import GSLBCore
import Testing

/// A drill measured through several nodes is judged on the worst node, and names it.
@Suite struct DrillVerdictTests {
    static func plan() -> DrillPlan {
        let answer = DrillPlan.Answer(addresses: ["198.51.100.10"], sites: ["iad"], fallback: false, rcode: "NOERROR")
        return DrillPlan(target: DrillTarget(scope: .site, name: "iad"),
                         pools: [.init(pool: "www.gslb.test.", type: "A", policy: "failover", ttl: 5, rto: 2,
                                       entries: [.init(client: "unknown", now: answer, failed: answer, moves: true)],
                                       healthyLeft: 1, outcome: "ok")],
                         capacity: .init(failedLoad: nil, survivors: [], survivingCapacity: nil, survivingLoad: nil, headroom: nil, sufficient: nil),
                         maxTTL: 5, safe: true, problems: [])
    }

    static func seen(_ node: String, failover: Double) -> DrillReport.Seen {
        var s = DrillReport.Seen(pool: "www.gslb.test.", type: "A", client: "unknown", node: node)
        s.hadTarget = true
        s.lastWith = failover
        s.firstWithout = failover + 0.1
        s.failback = 0.2
        return s
    }

    static func measurements(_ seen: [DrillReport.Seen]) -> DrillReport.Measurements {
        let all = DrillReport.Measurements.summary(seen)
        return DrillReport.Measurements(queries: 30, intervalMs: 100, timeToFailover: all.failover, firstAnswerWithout: all.firstWithout,
                                        timeToFailback: all.failback, sitesDuring: [:], emptyAnswers: 0, servfails: 0, timeouts: 0, seen: seen)
    }

    @Test func oneNodeMissingTheRTOFailsTheDrillAndIsNamed() {
        let v = DrillReport.verdict(plan: Self.plan(), measurements: Self.measurements([
            Self.seen("ns1", failover: 0.4), Self.seen("ns2", failover: 2.6), Self.seen("ns3", failover: 0.5),
        ]), status: .completed)
        #expect(v.result == "fail")
        #expect(v.objectives.first?.measured == 2.6)
        #expect(v.reasons.contains("www.gslb.test. A: rto 2.000 s missed on node ns2"), "\(v.reasons)")
    }

    @Test func everyNodeWithinTheRTOPasses() {
        let v = DrillReport.verdict(plan: Self.plan(), measurements: Self.measurements([
            Self.seen("ns1", failover: 0.4), Self.seen("ns2", failover: 1.9),
        ]), status: .completed)
        #expect(v.result == "pass")
        #expect(v.reasons.isEmpty, "\(v.reasons)")
    }

    @Test func aNodeThatNeverMovedIsNamed() {
        var stuck = Self.seen("ns2", failover: 0)
        stuck.firstWithout = nil
        stuck.lastWith = 5
        let v = DrillReport.verdict(plan: Self.plan(), measurements: Self.measurements([Self.seen("ns1", failover: 0.4), stuck]),
                                    status: .completed)
        #expect(v.result == "fail")
        #expect(v.reasons.contains { $0.contains("still had the target at the end of the hold (node ns2)") }, "\(v.reasons)")
    }
}
