import DNSWire
import Foundation
import TestPostgres
import Testing

/// Three real `cairn serve` on one real PostgreSQL: the node registry (`GET /v1/nodes`) and health by
/// quorum. One backend answers 500 to node ns3's probes only (it tells the nodes apart by their
/// `X-Cairn-Node` header): ns3 alone sees it down, so by majority every node keeps answering it.
@Suite(.serialized) struct ClusterTests {
    static let names = ["ns1", "ns2", "ns3"]

    static func config(port: Int) -> String {
        """
        sites:
          - {name: fra, region: eu}
        monitors:
          - {name: web, type: http, port: \(port), path: /healthz, interval: 200ms, timeout: 150ms, rise: 2, fall: 2}
        pools:
          - name: www.gslb.test.
            policy: all-healthy
            answers: 8
            fallback: none
            monitor: web
            members:
              - {site: fra, address: 127.0.0.61}
              - {site: fra, address: 127.0.0.62}
        """
    }

    /// `GET /v1/nodes` of `node`: name → state.
    static func nodes(_ node: CairnProcess, _ auth: [String: String]) throws -> [String: String] {
        let r = try http("GET", node.apiBase + "/v1/nodes", headers: auth)
        var out: [String: String] = [:]
        for n in r.object["nodes"] as? [[String: Any]] ?? [] { out[n["name"] as? String ?? "?"] = n["state"] as? String }
        return out
    }

    static func until(_ seconds: Double, _ ok: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try ok() { return true }
            usleep(50_000)
        } while Date() < deadline
        return false
    }

    @Test func threeNodesRegisterAndAgreeOnHealthByMajority() throws {
        let pg = try TestPostgres.shared()
        let url = try pg.makeDatabase()
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let p = Backend.freePort()
        let blind = try Backend("127.0.0.61", p, mode: "ok-except=ns3")
        let good = try Backend("127.0.0.62", p, mode: "ok")
        _ = blind
        let f = try env.file("gslb.yaml", Self.config(port: p))
        let run = { (args: [String]) throws -> (Int32, String) in
            try CairnProcess.runCapturing(Paths.cairnBinary, args, env: ProcessInfo.processInfo.environment.merging(pg.environment) { $1 })
        }
        #expect(try run(["apply", "-f", f, "--store", url, "--zones", env.zones]).0 == 0)
        let token = try PostgresStoreTests.token("read", url, pg)
        let auth = ["Authorization": "Bearer \(token)"]

        let nodes = try Self.names.map { name in
            try CairnProcess(["serve", "--zones", env.zones, "--store", url, "--dns", "127.0.0.1:0", "--node-name", name,
                              "--node-heartbeat", "200ms", "--node-gone-after", "4s"], environment: pg.environment)
        }
        defer { for n in nodes { n.stop() } }
        let both = ["127.0.0.61", "127.0.0.62"]

        // The registry: every node sees the three live.
        for n in nodes {
            #expect(try Self.until(10) { try Self.nodes(n, auth) == ["ns1": "live", "ns2": "live", "ns3": "live"] },
                    "\((try? Self.nodes(n, auth)) ?? [:])")
        }
        // ns3's own probes fail .61, ns1's and ns2's pass: by majority .61 stays in every node's answers.
        #expect(try Self.until(10) { nodes.allSatisfy { (try? HealthTests.answers($0.port)) == both } })
        let ns3 = nodes[2]
        #expect(try Self.until(10) {
            let h = try http("GET", ns3.apiBase + "/v1/health", headers: auth)
            let row = (h.object["members"] as? [[String: Any]] ?? []).first { $0["address"] as? String == "127.0.0.61" }
            let verdicts = (row?["nodes"] as? [[String: Any]] ?? []).map { "\($0["node"] ?? ""):\($0["state"] ?? "")" }.sorted()
            return row?["quorum"] as? String == "majority" && row?["real"] as? String == "up"
                && verdicts == ["ns1:up", "ns2:up", "ns3:down"]
        }, "ns3's /v1/health does not show the quorum")
        // And it holds: 2 s of answers from ns3, every one with .61.
        let steady = Date().addingTimeInterval(2)
        var dropped = 0
        while Date() < steady {
            if try HealthTests.answers(ns3.port) != both { dropped += 1 }
            usleep(50_000)
        }
        #expect(dropped == 0, "ns3 answered without .61 \(dropped) times although the majority sees it up")

        // A backend every node sees die leaves every node's answers.
        good.kill()
        #expect(try Self.until(10) { nodes.allSatisfy { (try? HealthTests.answers($0.port)) == ["127.0.0.61"] } },
                "\(nodes.map { (try? HealthTests.answers($0.port)) ?? [] })")

        // ns2 dies (SIGKILL): gone after 4 s without a heartbeat. ns1 up, ns3 down: a tie stays up.
        nodes[1].signal(SIGKILL)
        #expect(try Self.until(12) { try Self.nodes(nodes[0], auth)["ns2"] == "gone" }, "\((try? Self.nodes(nodes[0], auth)) ?? [:])")
        #expect(try HealthTests.answers(ns3.port) == ["127.0.0.61"])
        // ns1 stops cleanly: at once `stopped`, and ns3, alone, trusts its own probes: .61 is down.
        nodes[0].stop()
        #expect(try Self.until(10) { try Self.nodes(ns3, auth)["ns1"] == "stopped" }, "\((try? Self.nodes(ns3, auth)) ?? [:])")
        #expect(try Self.until(10) { try HealthTests.answers(ns3.port) == [] }, "\((try? HealthTests.answers(ns3.port)) ?? [])")
    }

    static let drillConfig = """
        sites:
          - {name: fra, region: eu}
          - {name: iad, region: us}
        pools:
          - name: www.gslb.test.
            policy: failover
            ttl: 5
            rto: 10s
            members:
              - {site: iad, address: 198.51.100.10, priority: 1}
              - {site: fra, address: 192.0.2.10, priority: 2}
        """

    /// The drill's report once it has ended (polled through `node`), or nil after `seconds`.
    static func finished(_ id: String, _ node: CairnProcess, _ auth: [String: String], within seconds: Double) throws -> [String: Any]? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let r = try http("GET", node.apiBase + "/v1/drills/\(id)", headers: auth)
            if let status = r.object["status"] as? String, !["scheduled", "running", "restoring"].contains(status) { return r.object }
            usleep(200_000)
        }
        return nil
    }

    /// A drill started through any node runs once, on the node holding the store's lease, and measures every node's
    /// listener; when its runner dies mid-drill another node takes it over and restores; a gone node is named.
    @Test func drillsRunOnceMeasureEveryNodeAndOutliveTheirRunner() throws {
        let pg = try TestPostgres.shared()
        let url = try pg.makeDatabase()
        let database = String(url.split(separator: "/").last!.split(separator: "?").first!)
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let f = try env.file("gslb.yaml", Self.drillConfig)
        let run = { (args: [String]) throws -> (Int32, String) in
            try CairnProcess.runCapturing(Paths.cairnBinary, args, env: ProcessInfo.processInfo.environment.merging(pg.environment) { $1 })
        }
        #expect(try run(["apply", "-f", f, "--store", url, "--zones", env.zones]).0 == 0)
        let token = try PostgresStoreTests.token("write", url, pg)
        let auth = ["Authorization": "Bearer \(token)"]
        var nodes: [String: CairnProcess] = [:]
        for name in Self.names {
            nodes[name] = try CairnProcess(["serve", "--zones", env.zones, "--store", url, "--dns", "127.0.0.1:0", "--node-name", name,
                                            "--node-heartbeat", "200ms", "--node-gone-after", "4s"], environment: pg.environment)
        }
        defer { for n in nodes.values { n.stop() } }
        #expect(try Self.until(10) { try Self.nodes(nodes["ns1"]!, auth).values.filter { $0 == "live" }.count == 3 })
        #expect(try Self.until(10) { !(try pg.psql(database, "SELECT holder FROM leases WHERE name = 'drills'")).isEmpty })

        // 1. Started through ns2: one run, measured through all three listeners, passing.
        let started = try http("POST", nodes["ns2"]!.apiBase + "/v1/drills", headers: auth, body: #"{"site": "iad", "hold": "3s"}"#)
        #expect(started.status == 201 || started.status == 202, "\(started)")
        let id = try #require(started.object["id"] as? String, "\(started)")
        let report = try #require(try Self.finished(id, nodes["ns3"]!, auth, within: 20), "drill \(id) did not end")
        #expect(report["status"] as? String == "completed", "\(report)")
        let m = report["measurements"] as? [String: Any] ?? [:]
        let perNode = (m["nodes"] as? [[String: Any]] ?? []).compactMap { $0["node"] as? String }.sorted()
        #expect(perNode == Self.names, "\(m)")
        for n in m["nodes"] as? [[String: Any]] ?? [] {
            #expect((n["time_to_failover"] as? Double).map { $0 < 5 } == true, "\(n)")
            #expect(n["time_to_failback"] is Double, "\(n)")
        }
        #expect((report["verdict"] as? [String: Any])?["result"] as? String == "pass", "\(report["verdict"] ?? "")")
        let runs = try pg.psql(database, "SELECT count(*) FROM audit_log WHERE action = 'drill-start' AND object = 'drill:\(id)'")
        #expect(runs.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "drill-start rows: \(runs)")

        // 2. Its runner dies 1.5 s into a 6 s drill: another node takes the lease, adopts the drill, restores iad.
        let second = try http("POST", nodes["ns1"]!.apiBase + "/v1/drills", headers: auth, body: #"{"site": "iad", "hold": "6s"}"#)
        let id2 = try #require(second.object["id"] as? String, "\(second)")
        usleep(1_500_000)
        let runner = try pg.psql(database, "SELECT holder FROM leases WHERE name = 'drills'").trimmingCharacters(in: .whitespacesAndNewlines)
        let victim = try #require(nodes[runner], "lease holder \(runner)")
        victim.signal(SIGKILL)
        let survivor = nodes.first { $0.key != runner }!.value
        let adopted = try #require(try Self.finished(id2, survivor, auth, within: 30), "drill \(id2) was not finished by another node")
        let timeline = (adopted["timeline"] as? [[String: Any]] ?? []).compactMap { $0["event"] as? String }
        #expect(timeline.contains { $0.contains("took over the drill") }, "\(timeline)")
        #expect(try Self.until(10) { nodes.filter { $0.key != runner }.values.allSatisfy { (try? HealthTests.answers($0.port)) == ["198.51.100.10"] } },
                "iad is not answered again after the adopted drill's restore")

        // 3. The dead runner is gone: a drill's plan says so and it is not measured.
        #expect(try Self.until(12) { try Self.nodes(survivor, auth)[runner] == "gone" })
        let third = try http("POST", survivor.apiBase + "/v1/drills", headers: auth, body: #"{"site": "iad", "hold": "1s"}"#)
        let id3 = try #require(third.object["id"] as? String, "\(third)")
        let last = try #require(try Self.finished(id3, survivor, auth, within: 20))
        let planNodes = ((last["plan"] as? [String: Any])?["nodes"] as? [[String: Any]]) ?? []
        #expect(planNodes.contains { $0["name"] as? String == runner && $0["state"] as? String == "gone" && $0["listener"] == nil }, "\(planNodes)")
        #expect(((last["measurements"] as? [String: Any])?["nodes"] as? [[String: Any]])?.count == 2)
        let md = try http("GET", survivor.apiBase + "/v1/drills/\(id3)/report", headers: auth).body
        #expect(md.contains("\(runner) (**gone**: not measured)"), "\(md)")
    }
}
