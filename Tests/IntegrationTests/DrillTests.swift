import DNSWire
import Foundation
import Testing

/// Failover drills end to end: two sites of real HTTP backends on 127.0.0.x, a real server,
/// drills through the API (and the CLI), measured over real UDP by Cairn itself.
@Suite(.serialized) struct DrillTests {
    /// `www` (monitored, ttl 1, the objective), `open` (failover, fail-open, ttl 2, rto 5s, no monitor), `api` (no rto, no
    /// monitor) and `solo` (one site only). `loads`: the monitor reads each backend's `X-Load`.
    static func config(port: Int, rto: String = "3s", loads: Bool = false) -> String {
        """
        sites:
          - {name: fra, region: eu, location: {lat: 50.11, lon: 8.68}, capacity: 1000, load: 300}
          - {name: iad, region: us, location: {lat: 38.95, lon: -77.45}, capacity: 1500, load: 500}
          - {name: lonely, region: ap}
        monitors:
          - {name: m, type: http, port: \(port), path: /healthz, expect_status: [200], interval: 500ms, timeout: 300ms, rise: 2, fall: 2\(loads ? ", load_header: X-Load" : "")}
        pools:
          - name: www.gslb.test.
            policy: closest
            ttl: 1
            rto: \(rto)
            monitor: m
            fallback: none
            members:
              - {site: fra, address: 127.0.0.51}
              - {site: iad, address: 127.0.0.52}
          - name: open.gslb.test.
            policy: failover
            ttl: 2
            rto: 5s
            fallback: all
            members:
              - {site: fra, address: 127.0.0.51, priority: 1}
              - {site: iad, address: 127.0.0.52, priority: 2}
          - name: api.gslb.test.
            policy: failover
            ttl: 1
            members:
              - {site: fra, address: 127.0.0.51, priority: 1}
              - {site: iad, address: 127.0.0.52, priority: 2}
          - name: solo.gslb.test.
            fallback: none
            members:
              - {site: lonely, address: 192.0.2.77}
        topology:
          - {network: 203.0.113.0/24, region: eu}
          - {network: 198.51.100.0/24, region: us}
        """
    }

    struct Env {
        let env: GSLBTests.Env
        var server: CairnProcess
        let token: String
        var backends: [Backend]
        /// The backends' HTTP port (the monitor's).
        let port: Int

        func call(_ method: String, _ path: String, body: String? = nil) throws -> AdminHTTP.Reply {
            try AdminHTTP.request(method, port: server.apiPort, path, token: token, body: body)
        }

        /// The answer an eu client (ECS 203.0.113.0/24) gets.
        func euAnswer() throws -> [String] {
            let m = try DNSClient.udp("www.gslb.test.", .a, port: server.port, edns: (1232, false),
                                      options: GSLBTests.ecs([203, 0, 113, 0], 24))
            return GSLBTests.addresses(m)
        }

        func waitForEU(_ want: [String], seconds: Double = 10) throws -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try euAnswer() == want { return true }
                usleep(50_000)
            }
            return false
        }

        /// Polls the drill until it has ended; returns its document.
        func waitForDrill(_ id: String, seconds: Double = 60) throws -> [String: Any] {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let d = try call("GET", "/v1/drills/\(id)").object
                if let s = d["status"] as? String, ["completed", "aborted", "interrupted", "refused"].contains(s) { return d }
                usleep(100_000)
            }
            Issue.record("drill \(id) did not end in \(seconds) s")
            return try call("GET", "/v1/drills/\(id)").object
        }

        func startDrill(_ body: String) throws -> String {
            let r = try call("POST", "/v1/drills", body: body)
            #expect(r.status == 201, "\(r.body)")
            return try #require(r.object["id"] as? String)
        }

        static func start(rto: String = "3s", serve: [String] = [], loads: (fra: Int, iad: Int)? = nil) throws -> Env {
            let port = Backend.freePort()
            let a = try Backend("127.0.0.51", port, mode: loads.map { "ok=\($0.fra)" } ?? "ok")
            let b = try Backend("127.0.0.52", port, mode: loads.map { "ok=\($0.iad)" } ?? "ok")
            let env = try GSLBTests.makeEnv()
            let f = try env.file("gslb.yaml", DrillTests.config(port: port, rto: rto, loads: loads != nil))
            let (rc, out) = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
            #expect(rc == 0, "\(out)")
            let token = try AdminAPITests.token(env.db, "write")
            let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0"] + serve)
            let e = Env(env: env, server: server, token: token, backends: [a, b], port: port)
            // Both backends healthy: the eu client gets fra.
            #expect(try e.waitForEU(["127.0.0.51"]))
            var ready = false
            for _ in 0..<100 where !ready {
                ready = try AdminHTTP.request("GET", port: server.apiPort, "/readyz").status == 200
                if !ready { usleep(100_000) }
            }
            return e
        }
    }

    static func measurements(_ d: [String: Any]) -> [String: Any] { d["measurements"] as? [String: Any] ?? [:] }
    static func verdict(_ d: [String: Any]) -> String? { (d["verdict"] as? [String: Any])?["result"] as? String }

    @Test func thePlanShowsTheMoveAndAnOverrideDrillFailsOverAndBackWithMeasuredTimes() throws {
        let e = try Env.start()
        let plan = try e.call("GET", "/v1/drills/plan?site=fra").object
        #expect(plan["safe"] as? Bool == true)
        let pools = plan["pools"] as? [[String: Any]] ?? []
        let www = try #require(pools.first { $0["pool"] as? String == "www.gslb.test." })
        let eu = try #require((www["entries"] as? [[String: Any]])?.first { $0["client"] as? String == "203.0.113.0/24" })
        #expect((eu["now"] as? [String: Any])?["sites"] as? [String] == ["fra"])
        #expect((eu["failed"] as? [String: Any])?["sites"] as? [String] == ["iad"])
        #expect(eu["moves"] as? Bool == true)
        // Capacity: iad (1500, load 500) takes fra's load of 300.
        let cap = plan["capacity"] as? [String: Any] ?? [:]
        #expect(cap["headroom"] as? Double == 700 || cap["headroom"] as? Int == 700, "\(cap)")
        // The plan changed nothing.
        #expect(try e.euAnswer() == ["127.0.0.51"])

        let id = try e.startDrill(#"{"site":"fra","hold":"2s","mode":"override"}"#)
        // During the hold the eu client is sent to iad.
        #expect(try e.waitForEU(["127.0.0.52"], seconds: 2))
        let d = try e.waitForDrill(id)
        #expect(d["status"] as? String == "completed")
        let m = Self.measurements(d)
        let failover = try #require(m["time_to_failover"] as? Double)
        #expect(failover < 1.0, "an override moves the answers at once: \(failover)")
        #expect(m["time_to_failback"] as? Double != nil)
        let during = m["sites_during"] as? [String: Int] ?? [:]
        #expect((during["iad"] ?? 0) > 0 && during["fra"] == nil, "\(during)")
        #expect(m["empty_answers"] as? Int == 0 && m["servfails"] as? Int == 0)
        #expect(Self.verdict(d) == "pass")
        // Restored, and nothing left behind.
        #expect(try e.euAnswer() == ["127.0.0.51"])
        #expect((try e.call("GET", "/v1/overrides").object["overrides"] as? [Any])?.isEmpty == true)
        // Every step is in the audit log.
        let audit = (try e.call("GET", "/v1/audit?object=drill:\(id)").object["entries"] as? [[String: Any]] ?? [])
            .compactMap { $0["action"] as? String }
        #expect(audit == ["drill-start", "drill-restore", "drill-end"], "\(audit)")
        // The Markdown report.
        let md = try e.call("GET", "/v1/drills/\(id)/report").body
        #expect(md.contains("# Failover drill \(id)") && md.contains("Verdict: PASS"))
    }

    /// docs/drill-report-sample.md is the report of `aDrillMeasuresThroughARealUnbound` (CAIRN_UPDATE_DOCS=1 rewrites it);
    /// the committed sample must have the sections the code writes today.
    static func checkSample(_ md: String) throws {
        let sample = Paths.fixture("docs/drill-report-sample.md").path
        if ProcessInfo.processInfo.environment["CAIRN_UPDATE_DOCS"] == "1" {
            try md.write(toFile: sample, atomically: true, encoding: .utf8)
        }
        let committed = (try? String(contentsOfFile: sample, encoding: .utf8)) ?? ""
        func headings(_ t: String) -> [String] {
            t.split(separator: "\n").filter { $0.hasPrefix("## ") || $0.hasPrefix("| Pool |") || $0.hasPrefix("| Resolver |") }
                .map { String($0.prefix(12)) }
        }
        #expect(headings(committed) == headings(md), "docs/drill-report-sample.md is stale: run with CAIRN_UPDATE_DOCS=1")
    }

    /// Response rate limiting is on by default and a drill asks every key of a pool from one address ten times a second:
    /// its queries carry a DNS cookie, as a resolver's, and are never limited (here with a limit of 2 answers a second
    /// per name and every limited answer dropped).
    @Test func aDrillsQueriesAreNotRateLimited() throws {
        let e = try Env.start(serve: ["--rrl-ratelimit", "2", "--rrl-slip", "0"])
        let id = try e.startDrill(#"{"site":"fra","hold":"2s","mode":"override"}"#)
        let d = try e.waitForDrill(id)
        let m = Self.measurements(d)
        #expect(d["status"] as? String == "completed")
        #expect((m["queries"] as? Int ?? 0) > 50, "\(m)")
        #expect(m["timeouts"] as? Int == 0, "drill queries were rate-limited: \(m["timeouts"] ?? "-") timeouts")
        #expect(Self.verdict(d) == "pass", "\(d["verdict"] ?? "")")
    }

    @Test func aProbeDrillMeasuresTheMonitorsFallTimeAndFailsAnRTOBelowIt() throws {
        let e = try Env.start()
        let id = try e.startDrill(#"{"site":"fra","hold":"4s","mode":"probe"}"#)
        let d = try e.waitForDrill(id)
        #expect(d["status"] as? String == "completed")
        let m = Self.measurements(d)
        let failover = try #require(m["time_to_failover"] as? Double)
        // interval 500 ms × fall 2: the second failed probe lands 0.5–1.3 s after the start.
        #expect(failover > 0.2 && failover < 2.5, "probe mode time-to-failover \(failover) s")
        let failback = try #require(m["time_to_failback"] as? Double, "no failback measured: \(m)")
        #expect(failback > 0.2 && failback < 4, "rise 2 × 500 ms: \(failback) s")
        #expect(Self.verdict(d) == "pass")
        print("probe drill: time-to-failover \(failover) s, time-to-failback \(failback) s")
        // The site's unmonitored members stay up and are listed: override mode would be needed for them.
        #expect(d["unmonitored"] as? [String] == ["api.gslb.test./127.0.0.51", "open.gslb.test./127.0.0.51"], "\(d["unmonitored"] ?? "-")")
        #expect(try DNSClient.udp("open.gslb.test.", .a, port: e.server.port).answer.count == 1)
        // A member without a monitor is refused in probe mode, and the refusal names the flag as the CLI spells it.
        let refused = try e.call("POST", "/v1/drills", body: #"{"member":"api.gslb.test./127.0.0.51","hold":"2s","mode":"probe"}"#)
        #expect(refused.status == 422 && refused.body.contains("--mode override"), "\(refused.body)")

        // The same drill against an objective below what was measured fails.
        // PUT replaces the pool: send it whole, as read, with the new rto.
        var pool = try e.call("GET", "/v1/pools/www.gslb.test.").object
        pool["rto"] = "100ms"
        pool["version"] = nil
        let body = String(decoding: try JSONSerialization.data(withJSONObject: pool.filter { !($0.value is NSNull) }), as: UTF8.self)
        let put = try e.call("PUT", "/v1/pools/www.gslb.test.", body: body)
        #expect(put.status == 200, "\(put.body)")
        let id2 = try e.startDrill(#"{"site":"fra","hold":"3s","mode":"probe"}"#)
        let d2 = try e.waitForDrill(id2)
        #expect(Self.verdict(d2) == "fail", "\(d2["verdict"] ?? "")")
        let text = try e.call("GET", "/v1/drills/\(id2)/report?format=text").body
        #expect(text.contains("verdict: FAIL"))
    }

    @Test func aDrillInterruptedByARestartStillEndsOnTimeAndSaysSo() throws {
        var e = try Env.start()
        let id = try e.startDrill(#"{"site":"fra","hold":"4s","mode":"override"}"#)
        let started = Date()
        #expect(try e.waitForEU(["127.0.0.52"], seconds: 2))
        usleep(800_000)
        // A crash: no chance to clean up.
        e.server.signal(SIGKILL)
        e.server.stop()
        e.server = try CairnProcess(["serve", "--zones", e.env.zones, "--db", e.env.db, "--dns", "127.0.0.1:0"])
        // Still failed over after the restart, until the hold ends.
        #expect(try e.euAnswer() == ["127.0.0.52"])
        let d = try e.waitForDrill(id)
        let ended = Date()
        #expect(d["status"] as? String == "interrupted")
        #expect(d["interrupted"] as? Bool == true)
        let elapsed = ended.timeIntervalSince(started)
        #expect(elapsed > 3.5 && elapsed < 9, "ended \(elapsed) s after the start, hold 4 s")
        #expect(try e.euAnswer() == ["127.0.0.51"])
        let text = try e.call("GET", "/v1/drills/\(id)/report?format=text").body
        #expect(text.contains("interrupted"), "\(text)")
    }

    @Test func abortRestoresAtOnceAndOnlyOneDrillRunsPerObject() throws {
        let e = try Env.start()
        let id = try e.startDrill(#"{"site":"fra","hold":"60s"}"#)
        #expect(try e.waitForEU(["127.0.0.52"], seconds: 2))
        let second = try e.call("POST", "/v1/drills", body: #"{"site":"fra","hold":"10s"}"#)
        #expect(second.status == 409, "\(second.body)")
        let abort = try e.call("POST", "/v1/drills/\(id)/abort")
        #expect(abort.status == 200, "\(abort.body)")
        // Restored before the abort returned: the very next answer is fra again.
        #expect(try e.euAnswer() == ["127.0.0.51"])
        let d = try e.waitForDrill(id, seconds: 10)
        #expect(d["status"] as? String == "aborted")
        #expect((try e.call("GET", "/v1/overrides").object["overrides"] as? [Any])?.isEmpty == true)
        #expect(try e.call("POST", "/v1/drills/\(id)/abort").status == 409)
    }

    @Test func aDrillThatWouldLeaveAPoolWithoutHealthyMembersIsRefusedUnlessForcedAndThenReportsTheOutage() throws {
        let e = try Env.start()
        let plan = try e.call("GET", "/v1/drills/plan?site=lonely").object
        #expect(plan["safe"] as? Bool == false)
        #expect((plan["problems"] as? [String])?.first?.contains("solo.gslb.test.") == true)
        // The CLI exits non-zero on an unsafe plan.
        let (rc, out) = try CairnProcess.runCapturing(Paths.cairnBinary, [
            "drill", "plan", "--site", "lonely", "--api", "http://127.0.0.1:\(e.server.apiPort)"],
            env: ["CAIRN_TOKEN": e.token, "PATH": "/usr/bin:/bin"])
        #expect(rc != 0 && out.contains("safe: NO"), "\(out)")
        #expect(out.hasPrefix("Plan: what happens if site lonely fails"), "\(out)")

        let refused = try e.call("POST", "/v1/drills", body: #"{"site":"lonely","hold":"2s"}"#)
        #expect(refused.status == 409 && refused.object["error"] as? String == "unsafe", "\(refused.body)")
        #expect(try DNSClient.udp("solo.gslb.test.", .a, port: e.server.port).answer.count == 1)

        let id = try e.startDrill(#"{"site":"lonely","hold":"2s","force":true}"#)
        let d = try e.waitForDrill(id)
        #expect(d["status"] as? String == "completed")
        let m = Self.measurements(d)
        #expect((m["empty_answers"] as? Int ?? 0) > 0, "the outage is reported: \(m)")
        #expect(try DNSClient.udp("solo.gslb.test.", .a, port: e.server.port).answer.count == 1)
        let drills = try e.call("GET", "/v1/drills").object["drills"] as? [[String: Any]] ?? []
        #expect(drills.map { $0["status"] as? String ?? "" }.sorted() == ["completed", "refused"])
    }

    @Test func aScheduledDrillRunsUnattendedAtItsTime() throws {
        let e = try Env.start()
        let f = ISO8601DateFormatter()
        let at = f.string(from: Date().addingTimeInterval(3))
        let id = try e.startDrill("{\"site\":\"fra\",\"hold\":\"1s\",\"at\":\"\(at)\"}")
        #expect(try e.call("GET", "/v1/drills/\(id)").object["status"] as? String == "scheduled")
        let d = try e.waitForDrill(id, seconds: 20)
        #expect(d["status"] as? String == "completed")
        #expect(Self.verdict(d) == "pass")
    }

    static func pools(_ d: [String: Any]) -> [[String: Any]] { (d["verdict"] as? [String: Any])?["pools"] as? [[String: Any]] ?? [] }
    static func pool(_ d: [String: Any], _ name: String) -> [String: Any] { pools(d).first { $0["pool"] as? String == name } ?? [:] }
    static func double(_ v: Any?) -> Double? { (v as? Double) ?? (v as? Int).map(Double.init) }

    /// The verdict judges what a client may see: Cairn's time-to-failover plus the TTL of the answer it had (seen in the
    /// answers), per pool and per client network; a pool without `rto` is listed as not judged with its figures; the
    /// report says who and why, counts the real clients apart from the test queries, and carries the version and a hash.
    @Test func theVerdictJudgesClientPerceivedTimeAndAccountsForEveryPool() throws {
        let e = try Env.start()
        let plan = try e.call("GET", "/v1/drills/plan?site=fra").object
        #expect(plan["warnings"] == nil || plan["warnings"] is NSNull, "ttl 1 s and 2 s are below their rto: \(plan["warnings"] ?? "")")
        let body = #"{"site":"fra","hold":"3s","reason":"quarterly DR test","ticket":"CHG-1042"}"#
        let id = try e.startDrill(body)
        // Real clients during the hold: 40 eu queries, answered by iad.
        #expect(try e.waitForEU(["127.0.0.52"], seconds: 2))
        for _ in 0..<40 { _ = try e.euAnswer() }
        let d = try e.waitForDrill(id)
        #expect(d["status"] as? String == "completed")
        #expect(Self.verdict(d) == "pass", "\(d["verdict"] ?? "")")
        // www: judged, client-perceived = measured + ttl (1 s, as answered), per pool and per client.
        let www = Self.pool(d, "www.gslb.test.")
        #expect(www["judged"] as? Bool == true && www["result"] as? String == "pass", "\(www)")
        let measured = try #require(Self.double(www["measured"]))
        #expect(www["ttl"] as? Int == 1)
        let perceived = try #require(Self.double(www["client_perceived"]))
        #expect(abs(perceived - (measured + 1)) < 0.1, "client-perceived \(perceived) s, measured \(measured) s + ttl 1 s")
        let clients = www["clients"] as? [[String: Any]] ?? []
        #expect(Set(clients.compactMap { $0["client"] as? String }).contains("203.0.113.0/24"), "\(clients)")
        for c in clients {
            let m = try #require(Self.double(c["measured"])), cp = try #require(Self.double(c["client_perceived"]))
            #expect(abs(cp - (m + Double(c["ttl"] as? Int ?? -1))) < 0.1, "\(c)")
        }
        let objective = ((d["verdict"] as? [String: Any])?["objectives"] as? [[String: Any]] ?? []).first { $0["pool"] as? String == "www.gslb.test." }
        #expect(Self.double(objective?["client_perceived"]) == perceived)
        // open: judged on its ttl 2 s. api: no rto, not judged, still with its measured times.
        #expect(Self.pool(d, "open.gslb.test.")["ttl"] as? Int == 2)
        let api = Self.pool(d, "api.gslb.test.")
        #expect(api["judged"] as? Bool == false && api["result"] as? String == "not judged: no rto", "\(api)")
        #expect(Self.double(api["measured"]) != nil && api["ttl"] as? Int == 1, "\(api)")
        // Who and why, in the report and the audit log.
        #expect(d["reason"] as? String == "quarterly DR test" && d["ticket"] as? String == "CHG-1042")
        #expect((d["principal"] as? String)?.hasPrefix("token:") == true && (d["node"] as? String)?.isEmpty == false, "\(d["node"] ?? "-")")
        let audit = try e.call("GET", "/v1/audit?object=drill:\(id)").object["entries"] as? [[String: Any]] ?? []
        let start = try #require(audit.first { $0["action"] as? String == "drill-start" })
        let after = "\(start["after"] ?? "")"
        #expect(after.contains("quarterly DR test") && after.contains("CHG-1042"), "\(after)")
        // Traffic: the test queries and the real clients, apart.
        let rc = try #require(Self.measurements(d)["real_clients"] as? [String: Any], "\(Self.measurements(d))")
        #expect(((rc["clients"] as? [String: Int])?["iad"] ?? 0) >= 20, "\(rc)")
        // fra was down during the hold: at most a few answers the counters had not taken in before the drill began.
        #expect(((rc["clients"] as? [String: Int])?["fra"] ?? 0) < 10, "\(rc)")
        // Evidence: the version and the content hash of the Markdown above its last line.
        #expect(d["cairn_version"] as? String != nil)
        let hash = try #require(d["content_hash"] as? String)
        let md = try e.call("GET", "/v1/drills/\(id)/report").body
        var lines = md.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast(2)
        let recomputed = try Self.sha256(lines.joined(separator: "\n") + "\n")
        #expect(recomputed == hash, "the hash does not cover the report")
        #expect(md.contains("| Reason | quarterly DR test |") && md.contains("## Plan: what happens if site fra fails"))
        // `cairn drill show ID --html`: one page, nothing fetched.
        let (rc2, html) = try CairnProcess.runCapturing(Paths.cairnBinary, ["drill", "show", id, "--html", "--api", "http://127.0.0.1:\(e.server.apiPort)"],
                                                        env: ["CAIRN_TOKEN": e.token, "PATH": "/usr/bin:/bin"])
        #expect(rc2 == 0 && html.hasPrefix("<!DOCTYPE html>") && html.contains(hash), "\(html.prefix(300))")
        #expect(!html.contains("src=") && !html.contains("href="))
    }

    static func sha256(_ text: String) throws -> String {
        let f = FileManager.default.temporaryDirectory.appendingPathComponent("drill-md-\(UUID().uuidString)")
        try text.write(to: f, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: f) }
        let (_, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/sha256sum"), [f.path], env: [:])
        return String(out.prefix(64))
    }

    /// A pool drill on a fail-open pool (fallback all): with every member failed the fallback answers them again, so
    /// the answers never lose the target, and the verdict names that cause.
    @Test func aFailOpenFallbackFailureNamesItsCause() throws {
        let e = try Env.start()
        let id = try e.startDrill(#"{"pool":"open.gslb.test.","hold":"2s","force":true}"#)
        let d = try e.waitForDrill(id)
        #expect(Self.verdict(d) == "fail")
        let open = Self.pool(d, "open.gslb.test.")
        let causes = open["causes"] as? [String] ?? []
        #expect(causes.first == "fail-open: no healthy member was left, so the fallback (all) re-served the target", "\(open)")
        let reasons = (d["verdict"] as? [String: Any])?["reasons"] as? [String] ?? []
        #expect(reasons.contains { $0.contains("fail-open") }, "\(reasons)")
        #expect(!reasons.contains { $0.contains("time-to-failover - s") }, "\(reasons)")
    }

    /// Capacity from live load: the monitor reads each backend's X-Load; the plan uses those loads (not the sites'
    /// configured ones) and flags the plan unsafe when the survivors could not carry the failed load.
    @Test func capacityUsesTheProbeReportedLoadsAndFlagsAnUnsafePlan() throws {
        var e = try Env.start(loads: (fra: 100, iad: 50))
        func capacity() throws -> [String: Any] { try e.call("GET", "/v1/drills/plan?site=fra").object["capacity"] as? [String: Any] ?? [:] }
        var cap: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            cap = try capacity()
            if Self.double(cap["failed_load"]) == 100 { break }
            usleep(100_000)
        }
        #expect(Self.double(cap["failed_load"]) == 100 && cap["failed_load_source"] as? String == "probe", "\(cap)")
        let iad = (cap["survivors"] as? [[String: Any]])?.first { $0["site"] as? String == "iad" } ?? [:]
        #expect(Self.double(iad["load"]) == 50 && iad["load_source"] as? String == "probe", "\(iad)")
        // iad: capacity 1500 - load 50 - fra's 100.
        #expect(Self.double(cap["headroom"]) == 1350, "\(cap)")
        // The CLI says where the loads come from.
        let (rc, out) = try CairnProcess.runCapturing(Paths.cairnBinary, ["drill", "plan", "--site", "fra", "--api", "http://127.0.0.1:\(e.server.apiPort)"],
                                                      env: ["CAIRN_TOKEN": e.token, "PATH": "/usr/bin:/bin"])
        #expect(rc == 0 && out.contains("capacity: failed load 100 (probe-reported)") && out.contains("headroom 1350"), "\(out)")
        #expect(out.contains("  iad: capacity 1500, load 50 (probe)"), "\(out)")
        // fra now reports 2000: more than iad can take.
        e.backends[0].kill()
        e.backends[0] = try Backend("127.0.0.51", e.port, mode: "ok=2000")
        var plan: [String: Any] = [:]
        let later = Date().addingTimeInterval(10)
        while Date() < later {
            plan = try e.call("GET", "/v1/drills/plan?site=fra").object
            if Self.double((plan["capacity"] as? [String: Any])?["failed_load"]) == 2000 { break }
            usleep(100_000)
        }
        #expect(plan["safe"] as? Bool == false, "\(plan["capacity"] ?? "")")
        #expect((plan["problems"] as? [String] ?? []).contains { $0.contains("would exceed their capacity") }, "\(plan["problems"] ?? "")")
        let refused = try e.call("POST", "/v1/drills", body: #"{"site":"fra","hold":"2s"}"#)
        #expect(refused.status == 409 && refused.object["error"] as? String == "unsafe", "\(refused.body)")
    }

    /// A drill on a site an operator already drained would measure nothing: refused unless forced, and the refusal names
    /// `--force`. With `--drill-require-reason` a drill needs a reason and a ticket.
    @Test func aDrillOnAnAlreadyDrainedSiteIsRefusedWithoutForce() throws {
        // www's rto below its ttl of 1 s: the plan warns that the drill cannot pass.
        let e = try Env.start(rto: "500ms", serve: ["--drill-require-reason"])
        let noReason = try e.call("POST", "/v1/drills", body: #"{"site":"fra","hold":"2s"}"#)
        #expect(noReason.status == 422 && noReason.object["field"] as? String == "reason", "\(noReason.body)")
        #expect(noReason.body.contains("--reason"))
        let warnings = try e.call("GET", "/v1/drills/plan?site=fra").object["warnings"] as? [String] ?? []
        #expect(warnings.contains { $0.hasPrefix("www.gslb.test. A: ttl 1 s exceeds rto 0.500 s") }, "\(warnings)")
        let o = try e.call("POST", "/v1/overrides", body: #"{"scope":"site","target":"fra","state":"drain","reason":"maintenance","expires_in":"10m"}"#)
        #expect(o.status == 201, "\(o.body)")
        let plan = try e.call("GET", "/v1/drills/plan?site=fra").object
        #expect(plan["safe"] as? Bool == false)
        #expect((plan["problems"] as? [String] ?? []).contains { $0.contains("site fra is already overridden") }, "\(plan["problems"] ?? "")")
        let refused = try e.call("POST", "/v1/drills", body: #"{"site":"fra","hold":"2s","reason":"DR test","ticket":"CHG-7"}"#)
        #expect(refused.status == 409 && refused.object["error"] as? String == "unsafe", "\(refused.body)")
        #expect(refused.body.contains("already") && refused.body.contains("--force") && !refused.body.contains("use force"), "\(refused.body)")
        // The CLI says the same.
        let (rc, out) = try CairnProcess.runCapturing(Paths.cairnBinary, [
            "drill", "run", "--site", "fra", "--hold", "2s", "--reason", "DR test", "--ticket", "CHG-7",
            "--api", "http://127.0.0.1:\(e.server.apiPort)"], env: ["CAIRN_TOKEN": e.token, "PATH": "/usr/bin:/bin"])
        #expect(rc != 0 && out.contains("--force"), "\(out)")
        let forced = try e.call("POST", "/v1/drills", body: #"{"site":"fra","hold":"1s","force":true,"reason":"DR test","ticket":"CHG-7"}"#)
        #expect(forced.status == 201, "\(forced.body)")
        if let id = forced.object["id"] as? String { _ = try e.waitForDrill(id) }
    }

    /// `--resolver`: the drill also asks a real caching Unbound (stub zone to this Cairn); its answers lose the target no
    /// sooner than Cairn's and no later than Cairn's plus the TTL (and a second), and get it back likewise after the restore.
    @Test func aDrillMeasuresThroughARealUnbound() throws {
        let unbound = "/usr/sbin/unbound"
        guard FileManager.default.isExecutableFile(atPath: unbound) else {
            Issue.record("no unbound: scripts/setup-deps installs it")
            return
        }
        let e = try Env.start()
        let uport = Backend.freePort()
        let dir = e.env.dir.path
        let conf = try e.env.file("unbound.conf", """
            server:
                interface: 127.0.0.1
                port: \(uport)
                do-ip6: no
                access-control: 127.0.0.0/8 allow
                username: ""
                chroot: ""
                directory: "\(dir)"
                pidfile: ""
                use-syslog: no
                logfile: "\(dir)/unbound.log"
                verbosity: 1
                num-threads: 1
                module-config: "iterator"
                do-not-query-localhost: no
                local-zone: "test." nodefault
                domain-insecure: "gslb.test."
                cache-min-ttl: 0
                prefetch: no
                serve-expired: no
            stub-zone:
                name: "gslb.test."
                stub-addr: 127.0.0.1@\(e.server.port)
            """)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: unbound)
        p.arguments = ["-d", "-c", conf]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { CairnProcess.stop(p) }
        var up = false
        let deadline = Date().addingTimeInterval(10)
        while !up && Date() < deadline {
            let q = QueryBuilder.make(name: try DomainName("open.gslb.test."), type: .a, rd: true)
            up = (DNSClient.udpRaw(q, port: uport).flatMap { try? Message(bytes: $0) }.map { GSLBTests.addresses($0) } ?? []) == ["127.0.0.51"]
            if !up { usleep(100_000) }
        }
        #expect(up, "unbound does not answer open.gslb.test. through Cairn: \((try? String(contentsOfFile: dir + "/unbound.log", encoding: .utf8)) ?? "")")
        let id = try e.startDrill("{\"site\":\"fra\",\"hold\":\"4s\",\"reason\":\"quarterly DR test\",\"ticket\":\"CHG-1042\","
                                  + "\"resolvers\":[\"127.0.0.1:\(uport)\"]}")
        let d = try e.waitForDrill(id, seconds: 40)
        #expect(d["status"] as? String == "completed")
        let m = Self.measurements(d)
        let rows = m["resolvers"] as? [[String: Any]] ?? []
        let r = try #require(rows.first { $0["pool"] as? String == "open.gslb.test." }, "\(rows)")
        #expect(r["resolver"] as? String == "127.0.0.1:\(uport)" && r["had_target"] as? Bool == true, "\(r)")
        let own = try #require((m["seen"] as? [[String: Any]] ?? []).first { $0["pool"] as? String == "open.gslb.test." && $0["client"] as? String == "unknown" })
        let ttl = 2.0
        let cairnStop = try #require(Self.double(own["first_without"])), viaStop = try #require(Self.double(r["first_without"]), "\(r)")
        // Unbound keeps a record up to a second past its TTL (whole-second expiry): the last answer through it with the
        // target is at most Cairn's time + TTL + 1 s; the first without it follows within one query period (100 ms).
        let period = Double(m["interval_ms"] as? Int ?? 100) / 1000
        let viaLast = try #require(Self.double(r["last_with"]), "\(r)")
        #expect(viaLast <= cairnStop + ttl + 1, "through unbound the target was still answered at \(viaLast) s; Cairn's left at \(cairnStop) s")
        #expect(viaStop >= cairnStop && viaStop <= viaLast + period + 0.05,
                "through unbound the target left at \(viaStop) s; Cairn's answers at \(cairnStop) s")
        let cairnBack = try #require(Self.double(own["failback"])), viaBack = try #require(Self.double(r["failback"]), "\(r)")
        #expect(viaBack >= cairnBack && viaBack <= cairnBack + ttl + 1 + period, "through unbound the target came back at \(viaBack) s; Cairn's at \(cairnBack) s")
        print("through unbound: stopped at \(viaStop) s (Cairn \(cairnStop) s), back at \(viaBack) s (Cairn \(cairnBack) s), ttl \(ttl) s")
        let md = try e.call("GET", "/v1/drills/\(id)/report").body
        #expect(md.contains("## Through caching resolvers") && md.contains("127.0.0.1:\(uport)"))
        try Self.checkSample(md)
    }
}
