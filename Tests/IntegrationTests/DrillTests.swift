import DNSWire
import Foundation
import Testing

/// Failover drills end to end: two sites of real HTTP backends on 127.0.0.x, a real server,
/// drills through the API (and the CLI), measured over real UDP by Cairn itself.
@Suite(.serialized) struct DrillTests {
    static func config(port: Int, rto: String = "3s") -> String {
        """
        sites:
          - {name: fra, region: eu, location: {lat: 50.11, lon: 8.68}, capacity: 1000, load: 300}
          - {name: iad, region: us, location: {lat: 38.95, lon: -77.45}, capacity: 1500, load: 500}
          - {name: lonely, region: ap}
        monitors:
          - {name: m, type: http, port: \(port), path: /healthz, expect_status: [200], interval: 500ms, timeout: 300ms, rise: 2, fall: 2}
        pools:
          - name: www.gslb.test.
            policy: closest
            rto: \(rto)
            monitor: m
            fallback: none
            members:
              - {site: fra, address: 127.0.0.51}
              - {site: iad, address: 127.0.0.52}
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
        let backends: [Backend]

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

        static func start(rto: String = "3s", serve: [String] = []) throws -> Env {
            let port = Backend.freePort()
            let a = try Backend("127.0.0.51", port, mode: "ok")
            let b = try Backend("127.0.0.52", port, mode: "ok")
            let env = try GSLBTests.makeEnv()
            let f = try env.file("gslb.yaml", DrillTests.config(port: port, rto: rto))
            let (rc, out) = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
            #expect(rc == 0, "\(out)")
            let token = try AdminAPITests.token(env.db, "write")
            let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0"] + serve)
            let e = Env(env: env, server: server, token: token, backends: [a, b])
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
        // docs/drill-report-sample.md is this report (CAIRN_UPDATE_DOCS=1 rewrites it); the
        // committed sample must have the sections the code writes today.
        let sample = Paths.fixture("docs/drill-report-sample.md").path
        if ProcessInfo.processInfo.environment["CAIRN_UPDATE_DOCS"] == "1" {
            try md.write(toFile: sample, atomically: true, encoding: .utf8)
        }
        let committed = (try? String(contentsOfFile: sample, encoding: .utf8)) ?? ""
        func headings(_ t: String) -> [String] {
            t.split(separator: "\n").filter { $0.hasPrefix("## ") || $0.hasPrefix("| Pool |") }.map { String($0.prefix(12)) }
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
}
