import DNSWire
import Foundation
import Testing

/// The `cairn site|pool|member|...` commands end to end: a real `cairn serve` with its admin
/// API on an ephemeral port, the commands run as processes against it, the effect checked in
/// real DNS answers over UDP.
@Suite(.serialized) struct CLITests {
    /// An empty store (no GSLB config) served for the zone `gslb.test.`, and an admin token in a file.
    final class Server {
        let env: GSLBTests.Env
        let process: CairnProcess
        let tokenFile: String
        var api: String { process.apiBase }

        init(extra: [String] = []) throws {
            env = try GSLBTests.makeEnv()
            let (rc, out) = try CairnProcess.run(["token", "create", "--scope", "admin", "--name", "cli-test", "--db", env.db])
            guard rc == 0, let token = out.split(separator: "\n").last, token.hasPrefix("cairn_") else {
                throw CLITestError.token(out)
            }
            tokenFile = try env.file("token", String(token) + "\n")
            process = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0"] + extra)
        }

        deinit {
            process.stop()
            try? FileManager.default.removeItem(at: env.dir)
        }

        /// `cairn ARGS --api URL --token-file FILE`: (exit status, stdout + stderr).
        func cairn(_ args: [String]) throws -> (Int32, String) {
            try CairnProcess.run(args + ["--api", api, "--token-file", tokenFile])
        }

        /// Runs a command that must succeed; its output.
        @discardableResult
        func ok(_ args: String...) throws -> String { try ok(args) }

        @discardableResult
        func ok(_ args: [String]) throws -> String {
            let (rc, out) = try cairn(args)
            #expect(rc == 0, "cairn \(args.joined(separator: " ")) exited \(rc): \(out)")
            return out
        }

        /// `--json` output of a command that must succeed, parsed.
        func json(_ args: String...) throws -> [String: Any] {
            let (rc, out) = try cairn(args + ["--json"])
            #expect(rc == 0, "cairn \(args.joined(separator: " ")) --json exited \(rc): \(out)")
            let v = try JSONSerialization.jsonObject(with: Data(out.utf8))
            return try #require(v as? [String: Any], "not a JSON object: \(out)")
        }

        /// The A answer for www.gslb.test. asked from 127.0.0.1 (no ECS).
        func answer() throws -> [String] {
            GSLBTests.addresses(try DNSClient.udp("www.gslb.test.", .a, port: process.port))
        }

        /// Two sites, a closest pool with one member at fra, and 127/8 mapped to iad.
        func setUpPool() throws {
            try ok("site", "create", "fra", "--region", "eu", "--lat", "50.11", "--lon", "8.68", "--capacity", "1000")
            try ok("site", "create", "iad", "--region", "us", "--lat", "38.95", "--lon", "-77.45")
            try ok("pool", "create", "--data", #"{"name": "www.gslb.test.", "type": "A", "policy": "closest", "ttl": 30, "members": [{"site": "fra", "address": "192.0.2.10"}]}"#)
            try ok("topology", "add", "127.0.0.0/8", "--site", "iad")
        }
    }

    enum CLITestError: Error { case token(String) }

    @Test func sitesPoolsAndMembersMadeWithTheCLIChangeTheDNSAnswer() throws {
        let s = try Server()
        #expect(try s.answer().isEmpty, "no pool yet: the name does not exist")
        try s.setUpPool()
        #expect(try s.answer() == ["192.0.2.10"])

        // A member at iad, the site that 127/8 maps to, takes the answer at once.
        let added = try s.ok("member", "add", "www.gslb.test", "--site", "iad", "--address", "198.51.100.10", "--weight", "50")
        #expect(added.contains("address: 198.51.100.10"), "\(added)")
        #expect(try s.answer() == ["198.51.100.10"])

        // Draining it gives the answer back to fra; enabling it again takes it back.
        try s.ok("member", "update", "www.gslb.test", "198.51.100.10", "--state", "drain")
        #expect(try s.answer() == ["192.0.2.10"])
        try s.ok("member", "update", "www.gslb.test", "198.51.100.10", "--state", "enabled")
        #expect(try s.answer() == ["198.51.100.10"])

        // The tables show what was made.
        let sites = try s.ok("site", "list")
        #expect(sites.split(separator: "\n").first?.split(separator: " ").map(String.init) == ["NAME", "REGION", "LAT", "LON", "CAPACITY", "LOAD", "VERSION"])
        #expect(sites.contains("fra   eu      50.11  8.68    1000"), "\(sites)")
        let members = try s.ok("member", "list", "www.gslb.test.")
        #expect(members.contains("iad   198.51.100.10  50      1         enabled"), "\(members)")
        let topology = try s.ok("topology", "list")
        #expect(topology.contains("127.0.0.0/8  site iad"), "\(topology)")

        // Removing the member gives the answer back to fra.
        try s.ok("member", "remove", "www.gslb.test", "198.51.100.10")
        #expect(try s.answer() == ["192.0.2.10"])
    }

    @Test func updateChangesOnlyTheGivenKeys() throws {
        let s = try Server()
        try s.setUpPool()
        let out = try s.ok("site", "update", "fra", "--load", "250.5")
        #expect(out.contains("load: 250.5"), "\(out)")
        let fra = try s.json("site", "show", "fra")
        #expect(fra["region"] as? String == "eu")
        #expect((fra["location"] as? [String: Any])?["lat"] as? Double == 50.11)
        #expect(fra["capacity"] as? Int == 1000)
        #expect(fra["version"] as? Int == 2)

        try s.ok("pool", "update", "www.gslb.test.", "--ttl", "60", "--policy", "weighted", "--rto", "5s")
        let pool = try s.json("pool", "show", "www.gslb.test.", "--type", "A")
        #expect(pool["ttl"] as? Int == 60)
        #expect(pool["policy"] as? String == "weighted")
        #expect(pool["rto"] as? String == "5s")
        #expect(pool["fallback"] as? String == "all", "untouched keys keep their values")
        #expect((pool["members"] as? [Any])?.count == 1, "members are kept")
        let msg = try DNSClient.udp("www.gslb.test.", .a, port: s.process.port)
        #expect(msg.answer.first?.ttl == 60)
    }

    @Test func drainingASiteMovesTheAnswerAwayUntilTheOverrideIsLifted() throws {
        let s = try Server()
        try s.setUpPool()
        try s.ok("member", "add", "www.gslb.test", "--site", "iad", "--address", "198.51.100.10")
        #expect(try s.answer() == ["198.51.100.10"])

        // stdout: the override's id alone (ID=$(cairn drain ...)); stderr: what was done and how to undo it
        let out = try s.ok("drain", "iad", "--for", "2h", "--reason", "rack move")
        let lines = out.split(separator: "\n").map(String.init)
        let id = try #require(lines.first { Int($0) != nil }, "drain prints the override id on a line of its own: \(out)")
        let said = lines.first { $0.hasPrefix("cairn: drained site iad until ") } ?? ""
        #expect(said.contains("(override \(id), reason \"rack move\")") && said.hasSuffix("lift it early: cairn override lift \(id)"), "\(out)")
        #expect(try s.answer() == ["192.0.2.10"])

        let overrides = try s.ok("override", "list")
        #expect(overrides.contains("site   iad     drain"), "\(overrides)")
        #expect(overrides.contains("rack move"))
        let listed = try s.json("override", "list")["overrides"] as? [[String: Any]] ?? []
        #expect(listed.count == 1)
        #expect(listed.first?["expires_at"] is String, "a --for override expires")
        #expect(listed.first?["reason"] as? String == "rack move")

        // Health shows the real state beside the forced one.
        let health = try s.ok("health", "--pool", "www.gslb.test.")
        let row = health.split(separator: "\n").first { $0.contains("198.51.100.10") }.map(String.init) ?? ""
        #expect(row.contains("drain by site:iad (override \(id))"), "the forced state names its override: \(health)")
        #expect(row.contains("unknown"), "real state shown: \(health)")
        let rows = try s.json("health", "--pool", "www.gslb.test.")["members"] as? [[String: Any]] ?? []
        let drained = rows.first { $0["address"] as? String == "198.51.100.10" } ?? [:]
        #expect((drained["forced_override"] as? NSNumber)?.stringValue == id, "\(drained)")
        #expect(drained["forced_drill"] is NSNull, "\(drained)")
        let explained = try s.ok("explain", "www.gslb.test", "--client", "198.51.100.1")
        #expect(explained.contains("by site:iad (override \(id))"), "\(explained)")
        // the admin state and eligibility have columns of their own (drained: not eligible)
        let head = health.split(separator: "\n").first.map(String.init) ?? ""
        #expect(head.contains("ADMIN") && head.contains("ELIGIBLE"), "\(health)")
        #expect(row.contains("enabled") && row.range(of: #"\bno\b"#, options: .regularExpression) != nil, "\(row)")

        try s.ok("override", "lift", id)
        #expect(try s.answer() == ["198.51.100.10"])

        // Weeks are a unit here as in `cairn token create --expires` (one duration syntax everywhere).
        let week = try s.ok("drain", "iad", "--for", "1w", "--reason", "long move")
        try s.ok("override", "lift", try #require(week.split(separator: "\n").map(String.init).first { Int($0) != nil }))
        #expect((try s.json("override", "list")["overrides"] as? [Any])?.isEmpty == true)
    }

    /// One verb per action on every resource: `create` and `delete` on sites, pools, members, topology entries,
    /// overrides, tokens and TSIG keys (the older `add`, `remove`, `set` and `lift` stay as aliases).
    @Test func everyResourceTakesTheSameVerbs() throws {
        let s = try Server()
        try s.setUpPool()
        try s.ok("member", "create", "www.gslb.test", "--site", "iad", "--address", "198.51.100.10")
        #expect(try s.answer() == ["198.51.100.10"])
        let id = try #require((try s.json("override", "create", "--site", "iad", "--state", "down", "--reason", "verbs",
                                          "--for", "1h")["id"] as? NSNumber)?.stringValue)
        #expect(try s.answer() == ["192.0.2.10"])
        try s.ok("override", "delete", id)
        #expect(try s.answer() == ["198.51.100.10"])
        try s.ok("topology", "delete", "127.0.0.0/8")
        try s.ok("topology", "create", "127.0.0.0/8", "--site", "fra")
        try s.ok("member", "delete", "www.gslb.test", "198.51.100.10")
        #expect(try s.answer() == ["192.0.2.10"])
        for resource in ["site", "pool", "member", "monitor", "topology", "override", "token", "tsig"] {
            let (_, help) = try CairnProcess.run([resource, "--help"])
            #expect(help.contains("  create") && help.contains("  delete"), "cairn \(resource) --help: \(help)")
        }
    }

    @Test func overridesTargetMembersAndPoolsWithEveryKindOfExpiry() throws {
        let s = try Server()
        try s.setUpPool()
        try s.ok("member", "add", "www.gslb.test", "--site", "iad", "--address", "198.51.100.10")
        try s.ok("override", "set", "--member", "www.gslb.test/198.51.100.10", "--state", "down", "--reason", "disk",
                 "--until", "2099-01-01T00:00:00Z")
        #expect(try s.answer() == ["192.0.2.10"])
        let pool = try s.json("override", "set", "--pool", "www.gslb.test.", "--state", "up", "--reason", "test", "--permanent")
        #expect(pool["permanent"] as? Bool == true)
        #expect(pool["target"] as? String == "www.gslb.test.")
        let table = try s.ok("override", "list")
        #expect(table.contains("permanent"), "\(table)")
        #expect(table.contains("2099-01-01T00:00:00"), "\(table)")
        // Exactly one expiry is required, checked before any request.
        let (rc, out) = try s.cairn(["override", "set", "--site", "fra", "--state", "down", "--reason", "x"])
        #expect(rc != 0)
        #expect(out.contains("--for"), "\(out)")
    }

    @Test func anAPIErrorExitsNonZeroWithTheAPIsMessage() throws {
        let s = try Server()
        try s.setUpPool()
        var (rc, out) = try s.cairn(["site", "show", "nosuch"])
        #expect(rc == 1)
        #expect(out.hasPrefix("cairn: 404 not-found: "), "\(out)")

        (rc, out) = try s.cairn(["member", "add", "www.gslb.test.", "--site", "iad", "--address", "198.51.100.300"])
        #expect(rc == 1)
        #expect(out.hasPrefix("cairn: 422 invalid: address: "), "\(out)")

        (rc, out) = try s.cairn(["site", "create", "fra"])
        #expect(rc == 1)
        #expect(out.hasPrefix("cairn: 409 conflict: "), "\(out)")

        (rc, out) = try s.cairn(["site", "delete", "fra"])
        #expect(rc == 1, "fra is still used by a member")
        #expect(out.hasPrefix("cairn: 409 conflict: "), "\(out)")

        // No token: 401, the API's message.
        (rc, out) = try CairnProcess.run(["site", "list", "--api", s.api])
        #expect(rc == 1)
        #expect(out.hasPrefix("cairn: 401 unauthorized"), "\(out)")

        // Nothing listening: exit 2, and no table.
        (rc, out) = try CairnProcess.run(["site", "list", "--api", "http://127.0.0.1:1", "--token-file", s.tokenFile])
        #expect(rc == 2)
        #expect(out.hasPrefix("cairn: cannot connect to http://127.0.0.1:1"), "\(out)")
        #expect(try s.answer() == ["192.0.2.10"], "failed commands changed nothing")
    }

    /// docs/operations.md's exit codes: 1 when the API says no, 2 when nothing answers, 64 for a wrong
    /// command line (the only case with usage text).
    @Test func exitCodesAreTheDocumentedOnes() throws {
        let s = try Server()
        var (rc, out) = try s.cairn(["site", "show", "nosuch"])
        #expect(rc == 1 && out.hasPrefix("cairn: 404 not-found: ") && !out.contains("Usage:"), "\(out)")
        // the error names the server that answered it
        #expect(out.contains("(GET \(s.api)/v1/sites/nosuch)"), "\(out)")
        (rc, out) = try CairnProcess.run(["site", "show", "x", "--api", "http://127.0.0.1:1"])
        #expect(rc == 2 && out.contains("http://127.0.0.1:1") && !out.contains("Usage:"), "\(out)")
        (rc, out) = try CairnProcess.run(["site", "nosuchverb"])
        #expect(rc == 64 && out.contains("Usage: cairn site"), "\(out)")
        (rc, out) = try CairnProcess.run(["--version"])
        #expect(rc == 0)
        let page = try String(contentsOf: Paths.fixture("docs/operations.md"), encoding: .utf8)
        for code in ["| 0 |", "| 1 |", "| 2 |", "| 64 |"] { #expect(page.contains(code)) }
    }

    @Test func jsonOutputIsTheAPIsJSON() throws {
        let s = try Server()
        try s.setUpPool()
        let sites = try s.json("site", "list")["sites"] as? [[String: Any]] ?? []
        #expect(sites.compactMap { $0["name"] as? String }.sorted() == ["fra", "iad"])
        let pools = try s.json("pool", "list")["pools"] as? [[String: Any]] ?? []
        #expect(pools.first?["name"] as? String == "www.gslb.test.")
        let members = try s.json("member", "list", "www.gslb.test.")["members"] as? [[String: Any]] ?? []
        #expect(members.first?["address"] as? String == "192.0.2.10")
        #expect((try s.json("topology", "list")["topology"] as? [Any])?.count == 1)
        let health = try s.json("health")["members"] as? [[String: Any]] ?? []
        #expect(health.first?["real"] as? String == "unknown")
        #expect(health.first?.keys.contains("forced") == true)
        let zones = try s.json("zone", "list")["zones"] as? [[String: Any]] ?? []
        #expect(zones.first?["origin"] as? String == "gslb.test.")
        let reload = try s.json("zone", "reload")
        #expect(reload["generation"] is Int)
        let explain = try s.json("explain", "www.gslb.test.", "--client", "127.0.0.1")
        #expect(explain["answer"] as? [String] == ["192.0.2.10"])
    }

    @Test func theAuditLogShowsEachChangeWithItsPrincipal() throws {
        let s = try Server()
        try s.setUpPool()
        try s.ok("drain", "fra", "--for", "30m", "--reason", "maintenance")
        let table = try s.ok("audit", "--since", "1h")
        #expect(table.hasPrefix("ID"), "\(table)")
        #expect(table.contains("token:cli-test"), "\(table)")
        #expect(table.contains("site:fra"), "\(table)")
        // site:fra finds the drain too, audited as the override it made
        let entries = try s.json("audit", "--object", "site:fra")["entries"] as? [[String: Any]] ?? []
        let drain = entries.filter { ($0["object"] as? String)?.hasPrefix("override:") == true }
        #expect(drain.count == 1, "\(entries)")
        #expect(drain.first?["action"] as? String == "create")
        #expect(drain.first?["source"] as? String == "127.0.0.1")
        let page = try s.json("audit", "--limit", "2", "--offset", "1")
        #expect((page["entries"] as? [Any])?.count == 2)
        #expect(page["limit"] as? Int == 2 && page["offset"] as? Int == 1)
    }

    @Test func explainThroughTheAPIPrintsWhatTheLocalExplainPrints() throws {
        let s = try Server()
        try s.setUpPool()
        try s.ok("member", "add", "www.gslb.test", "--site", "iad", "--address", "198.51.100.10")
        let args = ["explain", "www.gslb.test", "--type", "A", "--client", "192.0.2.1", "--ecs", "198.51.100.0/24"]
        let viaAPI = try s.ok(args)
        let (rc, local) = try CairnProcess.run(args + ["--db", s.env.db, "--zones", s.env.zones])
        #expect(rc == 0, "\(local)")
        #expect(viaAPI == local)
        #expect(viaAPI.contains("pool: www.gslb.test.  policy: closest"), "\(viaAPI)")
    }

    @Test func theURLAndTheTokenCanComeFromTheEnvironment() throws {
        let s = try Server()
        let token = try String(contentsOfFile: s.tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        var env = ProcessInfo.processInfo.environment
        env["CAIRN_API"] = s.api
        env["CAIRN_TOKEN"] = token
        let (rc, out) = try CairnProcess.runCapturing(Paths.cairnBinary, ["site", "create", "sin", "--region", "ap"], env: env)
        #expect(rc == 0, "\(out)")
        #expect(out.contains("name: sin"), "\(out)")
        env["CAIRN_TOKEN"] = "cairn_wrong"
        let (rc2, out2) = try CairnProcess.runCapturing(Paths.cairnBinary, ["site", "list"], env: env)
        #expect(rc2 == 1)
        #expect(out2.hasPrefix("cairn: 401 unauthorized"), "\(out2)")
    }

    @Test func monitorsAreCreatedListedAndDeleted() throws {
        let s = try Server()
        try s.ok("monitor", "create", "--data", #"{"name": "tcp443", "type": "tcp", "port": 443, "interval": "2s", "timeout": "300ms"}"#)
        let list = try s.ok("monitor", "list")
        #expect(list.contains("tcp443  tcp   443   2s        300ms"), "\(list)")
        let file = try s.env.file("mon.json", #"{"name": "dns53", "type": "dns", "port": 53, "rise": 3}"#)
        try s.ok("monitor", "create", "-f", file)
        let monitors = try s.json("monitor", "list")["monitors"] as? [[String: Any]] ?? []
        #expect(monitors.compactMap { $0["name"] as? String } == ["tcp443", "dns53"] || monitors.compactMap { $0["name"] as? String } == ["dns53", "tcp443"])
        try s.ok("monitor", "delete", "tcp443")
        let (rc, out) = try s.cairn(["monitor", "show", "tcp443"])
        #expect(rc == 1)
        #expect(out.hasPrefix("cairn: 404 not-found"), "\(out)")
    }

    @Test func httpsIsVerifiedAgainstTheCAFileAndInsecureSkipsVerification() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let (orc, oout) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/openssl"), [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"])
        #expect(orc == 0, "\(oout)")
        let s = try Server(extra: ["--api-tls-cert", cert, "--api-tls-key", key])
        let https = "https://127.0.0.1:\(s.process.apiPort)"
        func run(_ extra: [String]) throws -> (Int32, String) {
            try CairnProcess.run(["site", "create", "x\(extra.count)", "--region", "eu", "--api", https, "--token-file", s.tokenFile] + extra)
        }
        var (rc, out) = try run(["--ca-file", cert])
        #expect(rc == 0, "\(out)")
        #expect(out.contains("region: eu"), "\(out)")
        (rc, out) = try run([])
        #expect(rc == 2, "the system CAs do not know this certificate: \(out)")
        #expect(out.contains("not trusted"), "\(out)")
        (rc, out) = try run(["--insecure"])
        #expect(rc == 0, "\(out)")
    }
}
