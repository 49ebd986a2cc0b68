@testable import GSLBCore
import Testing

/// A drill is judged on what a client may see (Cairn's time-to-failover plus the TTL its resolver may hold the old answer
/// for), on the worst node, naming it; every affected pool is listed, and the cause of a failure is named.
@Suite struct DrillVerdictTests {
    static func plan(ttl: Int = 0, rto: Double? = 2, outcome: String = "ok", fallback: String = "none", healthyLeft: Int = 1) -> DrillPlan {
        let answer = DrillPlan.Answer(addresses: ["198.51.100.10"], sites: ["iad"], fallback: false, rcode: "NOERROR")
        return DrillPlan(target: DrillTarget(scope: .site, name: "iad"),
                         pools: [.init(pool: "www.gslb.test.", type: "A", policy: "failover", ttl: ttl, rto: rto,
                                       entries: [.init(client: "unknown", now: answer, failed: answer, moves: true)],
                                       healthyLeft: healthyLeft, outcome: outcome, fallback: fallback, negativeTTL: 60)],
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
        #expect(v.reasons.contains("www.gslb.test. A: node ns2 did not converge: its answers still had the target at the end of the hold"),
                "\(v.reasons)")
        #expect(v.pools?.first?.causes.first?.contains("node ns2 did not converge") == true)
    }

    @Test func theClientPerceivedTimeIsTheMeasuredTimePlusTheTTLAndIsWhatIsJudged() throws {
        // 0.4 s + ttl 1 s = 1.4 s <= rto 2 s: pass.
        let ok = DrillReport.verdict(plan: Self.plan(ttl: 1), measurements: Self.measurements([Self.seen("ns1", failover: 0.4)]),
                                     status: .completed)
        #expect(ok.result == "pass")
        let o = try #require(ok.objectives.first)
        #expect(o.measured == 0.4 && o.ttl == 1 && o.clientPerceived == 1.4)
        // Cairn moved in 0.4 s, but a resolver may hold the old answer 5 s: fail, and the sum is the reason.
        let late = DrillReport.verdict(plan: Self.plan(ttl: 5), measurements: Self.measurements([Self.seen("ns1", failover: 0.4)]),
                                       status: .completed)
        #expect(late.result == "fail")
        #expect(late.objectives.first?.clientPerceived == 5.4)
        #expect(late.reasons.contains("www.gslb.test. A: client-perceived 5.400 s (time-to-failover 0.400 s + TTL 5 s) > rto 2.000 s"),
                "\(late.reasons)")
        // The TTL seen in the answers wins over the configured one.
        var s = Self.seen("ns1", failover: 0.4)
        s.answerTTL = 3
        let seen = DrillReport.verdict(plan: Self.plan(ttl: 1, rto: 10), measurements: Self.measurements([s]), status: .completed)
        #expect(seen.pools?.first?.clients.first?.clientPerceived == 3.4)
    }

    @Test func anAnswerThatBecameEmptyCountsTheNegativeTTLAndFailsNamingIt() {
        var s = Self.seen("ns1", failover: 0.4)
        s.empty = 3
        s.negativeTTL = 4
        let v = DrillReport.verdict(plan: Self.plan(ttl: 1, rto: 10), measurements: Self.measurements([s]), status: .completed)
        #expect(v.objectives.first?.ttl == 4 && v.objectives.first?.clientPerceived == 4.4)
        #expect(v.result == "fail")
        #expect(v.pools?.first?.causes == ["3 empty answer(s)"], "\(v.pools?.first?.causes ?? [])")
    }

    @Test func aPoolWithoutRTOIsListedAsNotJudgedWithItsMeasuredTimes() throws {
        let v = DrillReport.verdict(plan: Self.plan(ttl: 2, rto: nil), measurements: Self.measurements([Self.seen("ns1", failover: 0.7)]),
                                    status: .completed)
        #expect(v.result == "none" && v.objectives.isEmpty)
        let p = try #require(v.pools?.first)
        #expect(!p.judged && p.result == "not judged: no rto")
        #expect(p.measured == 0.7 && p.ttl == 2 && p.clientPerceived == 2.7)
    }

    @Test func aFailOpenFallbackThatReservesTheTargetIsNamedAsTheCause() throws {
        var stuck = Self.seen("ns1", failover: 0)
        stuck.firstWithout = nil
        stuck.lastWith = 3
        let v = DrillReport.verdict(plan: Self.plan(outcome: "fallback", fallback: "all", healthyLeft: 0),
                                    measurements: Self.measurements([stuck]), status: .completed)
        #expect(v.result == "fail")
        let p = try #require(v.pools?.first)
        #expect(p.causes.first == "fail-open: no healthy member was left, so the fallback (all) re-served the target", "\(p.causes)")
        #expect(p.measured == nil && p.clientPerceived == nil)
        #expect(v.reasons.first?.contains("fail-open") == true)
    }

    @Test func aResolverThatKeptTheTargetPastTheRTOFailsThePoolAndIsNamed() throws {
        var via = DrillReport.Seen(pool: "www.gslb.test.", type: "A", client: "127.0.0.1:53")
        via.resolver = "127.0.0.1:53"
        via.hadTarget = true
        via.lastWith = 2.5
        via.firstWithout = 2.6
        var m = Self.measurements([Self.seen("ns1", failover: 0.1)])
        m.resolvers = [via]
        let late = DrillReport.verdict(plan: Self.plan(ttl: 1, rto: 2), measurements: m, status: .completed)
        #expect(late.result == "fail")
        #expect(late.pools?.first?.causes == ["through resolver 127.0.0.1:53 the answers had the target until 2.500 s > rto 2.000 s"],
                "\(late.pools?.first?.causes ?? [])")
        m.resolvers?[0].lastWith = 1.5
        #expect(DrillReport.verdict(plan: Self.plan(ttl: 1, rto: 2), measurements: m, status: .completed).result == "pass")
    }

    @Test func noSurvivingMemberIsNamed() throws {
        let v = DrillReport.verdict(plan: Self.plan(outcome: "nothing", fallback: "none", healthyLeft: 0),
                                    measurements: Self.measurements([Self.seen("ns1", failover: 0.1)]), status: .completed)
        #expect(v.pools?.first?.causes.contains("no surviving member (fallback none)") == true, "\(v.pools?.first?.causes ?? [])")
    }

    @Test func theContentHashCoversTheMarkdownAboveItsLastLine() throws {
        var r = DrillReport(id: "d-1", target: DrillTarget(scope: .site, name: "iad"), mode: "override", hold: 2, force: false,
                            principal: "token:ops", createdAt: 100)
        r.plan = Self.plan(ttl: 1)
        r.measurements = Self.measurements([Self.seen("ns1", failover: 0.4)])
        r.verdict = DrillReport.verdict(plan: r.plan, measurements: r.measurements, status: .completed)
        r.reason = "quarterly DR test <eu>"
        r.seal(version: "9.9.9")
        let md = r.markdown
        let lines = md.split(separator: "\n", omittingEmptySubsequences: false)
        // `head -n -1 report.md | sha256sum`: every line but the last (the text ends with a newline).
        let above = lines.dropLast(2).joined(separator: "\n") + "\n"
        let hash = try #require(r.contentHash)
        #expect(sha256Hex(above) == hash)
        #expect(lines[lines.count - 2].contains(hash))
        #expect(md.contains("| Cairn | 9.9.9 |") && r.hashMatches == true)
        // Changed afterwards, it no longer matches.
        r.reason = "something else"
        #expect(r.hashMatches == false)
        // The HTML page: self-contained (nothing fetched), escaped, and carrying the hash.
        let html = r.html
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains(hash))
        #expect(!html.contains("src=") && !html.contains("href=") && !html.contains("<script"))
        #expect(html.contains("something else") && html.contains("<table>"))
        r.reason = "<script>x</script>"
        #expect(!r.html.contains("<script>") && r.html.contains("&lt;script&gt;"))
    }
}
