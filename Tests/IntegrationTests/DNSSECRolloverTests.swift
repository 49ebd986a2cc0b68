import DNSWire
import Foundation
import TestPostgres
import Testing

/// Key rollovers on the real server (docs/dnssec.md "Key rollover"), judged by a real validating Unbound that
/// resolves through every step (every answer AD, never SERVFAIL), by delv after it, and by dnspython while both
/// keys are published. The zones have one-second TTLs and the rollovers one-second delays (below the production
/// minimums, as the command warns), so a whole rollover takes seconds; the server's rollover task takes each step.
@Suite(.serialized) struct DNSSECRolloverTests {
    /// A zone whose every TTL (records; negative) is one second, but the SOA's, which is also the DNSKEY RRset's.
    static func zone(_ origin: String, soaTTL: Int = 1, extra: String = "") -> String {
        """
        $ORIGIN \(origin)
        $TTL 1
        @        \(soaTTL) IN SOA ns hostmaster 1 3600 600 86400 1
        @          IN NS  ns
        ns         IN A   127.0.0.1
        static     IN A   192.0.2.1
        \(extra)
        """
    }

    static func config(_ pool: String) -> String {
        """
        sites:
          - {name: fra, region: eu}
        pools:
          - name: \(pool)
            type: A
            policy: weighted
            ttl: 1
            members:
              - {site: fra, address: 192.0.2.10}
        """
    }

    struct Env {
        let dir: URL
        var zones: URL { dir.appendingPathComponent("zones") }
        var db: String { dir.appendingPathComponent("cairn.sqlite").path }

        func cairn(_ args: [String]) throws -> String {
            let (rc, out) = try CairnProcess.run(args + ["--db", db])
            try #require(rc == 0, "cairn \(args): \(out)")
            return out
        }

        /// `cairn dnssec status ZONE` as (role, tag, state) rows.
        func keys(_ zone: String) throws -> [(role: String, tag: String, state: String)] {
            try cairn(["dnssec", "status", zone]).split(separator: "\n").dropFirst().map { line in
                let f = line.components(separatedBy: "  ")
                return (f[1], f[2], f[5])
            }
        }
    }

    static func makeEnv(zones: [(String, String)], pool: String) throws -> Env {
        let env = Env(dir: try Paths.tempDir())
        try FileManager.default.createDirectory(at: env.zones, withIntermediateDirectories: true)
        for (name, text) in zones { try text.write(to: env.zones.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        let file = env.dir.appendingPathComponent("gslb.yaml")
        try config(pool).write(to: file, atomically: true, encoding: .utf8)
        _ = try env.cairn(["apply", "-f", file.path, "--zones", env.zones.path])
        return env
    }

    /// Asks Unbound for each name: NOERROR and AD, or records why not.
    static func expectSecure(_ port: Int, _ names: [(String, String)], _ step: String) throws {
        for (name, type) in names {
            let out = try DNSSECTests.dig(port, [name, type])
            #expect(DNSSECTests.status(out) == "NOERROR" && DNSSECTests.flags(out).contains("ad"), "\(step): \(name) \(type): \(out)")
        }
    }

    /// Every 200 ms (at most `limit` passes) until `body` says the rollover is over: reads the zone's keys of `role`,
    /// notes each one's state (`old STATE` for the key tagged `old`, `new STATE` for others) and asks the resolver
    /// at `port` for `names` (each answer secure). Returns the states seen.
    static func drive(_ env: Env, zone: String, role: String, old: String, port: Int, names: [(String, String)], limit: Int = 300,
                      _ body: ([(role: String, tag: String, state: String)]) throws -> Bool) throws -> Set<String> {
        var seen: Set<String> = []
        for _ in 0..<limit {
            let keys = try env.keys(zone).filter { $0.role == role }
            for k in keys { seen.insert("\(k.tag == old ? "old" : "new") \(k.state)") }
            try expectSecure(port, names, "\(role)s \(keys)")
            if try body(keys) { return seen }
            usleep(200_000)
        }
        Issue.record("the rollover of \(zone) did not finish: \(try env.keys(zone))")
        return seen
    }

    static func delv(_ port: Int, anchorDS ds: String, root: String, _ name: String, _ type: String) throws -> String {
        let f = ds.split(whereSeparator: \.isWhitespace)   // ZONE TTL IN DS TAG ALG 2 HEX
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let anchors = dir.appendingPathComponent("anchors.conf")
        try "trust-anchors { \(f[0]) static-ds \(f[4]) \(f[5]) \(f[6]) \"\(f[7])\"; };\n".write(to: anchors, atomically: true, encoding: .utf8)
        return try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
                                             ["delv", "@127.0.0.1", "-p", "\(port)", "-a", anchors.path, "+root=\(root)", name, type]).1
    }

    /// A pre-publish ZSK rollover: the new ZSK is published (in the DNSKEY RRset, signing nothing), then signs
    /// (the old one retired, still published), then the old one is removed. Unbound keeps the zone's KSK DS as
    /// its trust anchor throughout (a ZSK rollover never touches the parent).
    @Test func aZSKRolloverKeepsEveryAnswerSecureForAValidatingUnbound() throws {
        // The DNSKEY RRset lives 4 s in Unbound's cache, longer than the server takes to notice a step: a new ZSK
        // put to use before the cached RRset without it has expired is seen (SERVFAIL).
        let env = try Self.makeEnv(zones: [("roll.test.zone", Self.zone("roll.test.", soaTTL: 4))], pool: "www.roll.test.")
        defer { try? FileManager.default.removeItem(at: env.dir) }
        _ = try env.cairn(["dnssec", "enable", "roll.test", "--ksk-zsk"])
        let ds = try env.cairn(["dnssec", "ds", "roll.test"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try CairnProcess(["serve", "--zones", env.zones.path, "--db", env.db, "--dns", "127.0.0.1:0",
                                       "--rrl-ratelimit", "0"])
        let (unbound, port) = try DNSSECTests.startUnbound(env.dir, cairnPort: server.port, anchor: ds, zone: "roll.test.")
        defer { CairnProcess.stop(unbound) }
        let names = [("roll.test.", "DNSKEY"), ("static.roll.test.", "A"), ("www.roll.test.", "A"), ("nonexistent.roll.test.", "A"),
                     ("static.roll.test.", "AAAA")]
        try Self.expectSecure(port, names, "before")
        let before = try env.keys("roll.test")
        let oldZSK = try #require(before.first { $0.role == "zsk" }).tag

        let out = try env.cairn(["dnssec", "rollover", "roll.test", "--zsk", "--propagation", "1s"])
        #expect(out.contains("published") && out.contains("warning: --propagation is below the production minimum"), "\(out)")
        var checkedBothKeys = false
        let seen = try Self.drive(env, zone: "roll.test", role: "zsk", old: oldZSK, port: port, names: names) { zsks in
            if zsks.count == 2 && !checkedBothKeys {
                // Both ZSKs published: dnspython checks every RRSIG against the DNSKEY RRset served now.
                let checker = Paths.fixture("Tests/IntegrationTests/Support/dnssec_check.py").path
                let (st, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/python3"),
                    [checker, "\(server.port)", "roll.test.", "", "static.roll.test./A", "www.roll.test./A", "nonexistent.roll.test./A",
                     "roll.test./SOA", "roll.test./CDS"])
                #expect(st == 0 && out.contains("DNSKEY: 3 keys"), "\(out)")
                checkedBothKeys = true
            }
            return zsks.count == 1 && zsks[0].tag != oldZSK && zsks[0].state == "active"
        }
        #expect(seen.isSuperset(of: ["new published", "old retired", "new active"]), "\(seen)")
        #expect(checkedBothKeys)
        // After: the old ZSK is gone from the DNSKEY RRset, answers validate with the new one, also for delv.
        usleep(1_500_000)   // Unbound's one-second cache entries expire: what follows is validated afresh
        try Self.expectSecure(port, names, "after")
        let newZSK = try #require(try env.keys("roll.test").first { $0.role == "zsk" }).tag
        let signed = try DNSSECTests.dig(port, ["static.roll.test.", "A"])
        #expect(signed.contains(" \(newZSK) roll.test.") && !signed.contains(" \(oldZSK) roll.test."), "signed by the new ZSK: \(signed)")
        for (name, type) in [("static.roll.test.", "A"), ("www.roll.test.", "A")] {
            let v = try Self.delv(server.port, anchorDS: ds, root: "roll.test.", name, type)
            #expect(v.contains("; fully validated"), "\(name) \(type): \(v)")
        }
        let log = (try? String(contentsOf: env.dir.appendingPathComponent("unbound.log"), encoding: .utf8)) ?? ""
        #expect(!log.contains("validation failure"), "\(log)")
    }

    /// A double-signature KSK rollover under a signed parent that the same server serves: Unbound's only trust
    /// anchor is the parent's DS. The new KSK is published (both KSKs sign the DNSKEY RRset), then CDS names it
    /// (ds-pending); the test plays the parent's operator: it reads the CDS, puts the DS it gives into the parent
    /// zone in place of the old one, reloads the zones (SIGHUP) and runs `cairn dnssec ds-seen`. The old KSK
    /// retires, then goes.
    @Test func aKSKRolloverWithTheParentsDSReplacedKeepsEveryAnswerSecure() throws {
        let child = "child.ptest."
        // The child's DNSKEY RRset lives 4 s in Unbound's cache: a new KSK whose DS reaches the parent before the
        // cached RRset without it has expired is seen (SERVFAIL).
        let env = try Self.makeEnv(zones: [("child.ptest.zone", Self.zone(child, soaTTL: 4))], pool: "www.child.ptest.")
        defer { try? FileManager.default.removeItem(at: env.dir) }
        _ = try env.cairn(["dnssec", "enable", "child.ptest", "--ksk-zsk"])
        _ = try env.cairn(["dnssec", "enable", "ptest"])
        let parentDS = try env.cairn(["dnssec", "ds", "ptest"]).trimmingCharacters(in: .whitespacesAndNewlines)
        /// The parent zone with the child's delegation and `ds` (DS RDATAs: tag, algorithm, digest type, hex digest).
        func writeParent(ds: [[Substring]], serial: Int) throws {
            let records = ds.map { "child 1 IN DS \($0[0]) \($0[1]) \($0[2]) " + $0[3...].joined() }
            let text = Self.zone("ptest.", extra: "child IN NS ns.child\nns.child IN A 127.0.0.1\n" + records.joined(separator: "\n"))
                .replacingOccurrences(of: "hostmaster 1 ", with: "hostmaster \(serial) ")
            try text.write(to: env.zones.appendingPathComponent("ptest.zone"), atomically: true, encoding: .utf8)
        }
        // `cairn dnssec ds`: ZONE TTL IN DS TAG ALG 2 HEX.
        try writeParent(ds: try env.cairn(["dnssec", "ds", "child.ptest"]).split(separator: "\n").map {
            Array($0.split(whereSeparator: \.isWhitespace).dropFirst(4))
        }, serial: 1)
        let server = try CairnProcess(["serve", "--zones", env.zones.path, "--db", env.db, "--dns", "127.0.0.1:0",
                                       "--rrl-ratelimit", "0"])
        let (unbound, port) = try DNSSECTests.startUnbound(env.dir, cairnPort: server.port, anchor: parentDS, zone: "ptest.")
        defer { CairnProcess.stop(unbound) }
        let names = [("child.ptest.", "DNSKEY"), ("static.child.ptest.", "A"), ("www.child.ptest.", "A"),
                     ("nonexistent.child.ptest.", "A"), ("child.ptest.", "DS")]
        try Self.expectSecure(port, names, "before")
        let oldKSK = try #require(try env.keys("child.ptest").first { $0.role == "ksk" }).tag

        _ = try env.cairn(["dnssec", "rollover", "child.ptest", "--ksk", "--propagation", "1s", "--ds-ttl", "1s",
                           "--parent-propagation", "1s"])
        var confirmed = false
        let seen = try Self.drive(env, zone: "child.ptest", role: "ksk", old: oldKSK, port: port, names: names) { ksks in
            // Double signature on the wire: every KSK the server publishes signs its DNSKEY RRset.
            let keys = try DNSClient.udp("child.ptest.", .dnskey, port: server.port, edns: (4096, true)).answer
            let published = Set(keys.filter { $0.type == .dnskey && $0.rdata[1] == 1 }.map { DNSSECKeyTags.tag($0.rdata) })
            let signers = Set(keys.filter { $0.type == .rrsig }.map { DNSSECKeyTags.signer($0.rdata) })
            #expect(published == signers && !published.isEmpty, "KSKs \(published), DNSKEY signed by \(signers)")
            if ksks.contains(where: { $0.state == "ds-pending" }) && !confirmed {
                // The parent's operator: CDS → DS at the parent, then ds-seen.
                let cds = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
                    ["dig", "+short", "-p", "\(server.port)", "@127.0.0.1", "child.ptest.", "CDS"]).1
                let records = cds.split(separator: "\n").map { $0.split(whereSeparator: \.isWhitespace) }
                #expect(records.count == 1 && !cds.contains("\(oldKSK) 13 2"), "CDS names the new KSK only: \(cds)")
                try writeParent(ds: records, serial: 2)
                server.signal(SIGHUP)
                var reloaded = false
                for _ in 0..<50 where !reloaded {
                    usleep(100_000)
                    reloaded = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
                        ["dig", "+short", "-p", "\(server.port)", "@127.0.0.1", "ptest.", "SOA"]).1.contains(" 2 3600 ")
                }
                #expect(reloaded)
                let out = try env.cairn(["dnssec", "ds-seen", "child.ptest"])
                #expect(out.contains("retired") && out.contains("active"), "\(out)")
                confirmed = true
            }
            return confirmed && ksks.count == 1 && ksks[0].tag != oldKSK && ksks[0].state == "active"
        }
        #expect(seen.isSuperset(of: ["new published", "new ds-pending", "old retired", "new active"]), "\(seen)")
        usleep(4_500_000)   // the DNSKEY RRset Unbound holds (4 s) expires: what follows is fetched afresh
        try Self.expectSecure(port, names, "after")
        let dnskey = try DNSSECTests.dig(port, ["child.ptest.", "DNSKEY"])
        #expect(!dnskey.contains(" \(oldKSK) child.ptest."), "the old KSK still signs: \(dnskey)")
        for (name, type) in [("static.child.ptest.", "A"), ("www.child.ptest.", "A"), ("child.ptest.", "DNSKEY")] {
            let v = try Self.delv(server.port, anchorDS: parentDS, root: "ptest.", name, type)
            #expect(v.contains("; fully validated"), "\(name) \(type): \(v)")
        }
        let log = (try? String(contentsOf: env.dir.appendingPathComponent("unbound.log"), encoding: .utf8)) ?? ""
        #expect(!log.contains("validation failure"), "\(log)")
    }

    /// The API starts a rollover and confirms a DS (admin scope only): the states, next step times and delays in
    /// the responses; the errors of rollovers that cannot start.
    @Test func theAPIStartsARolloverAndConfirmsTheDSForAdminTokensOnly() throws {
        let server = try APIServer.start(zones: Paths.fixture("Tests/conformance/zones").path, config: nil)
        defer { server.stop() }
        let admin = try server.token(scope: "admin"), write = try server.token(scope: "write")
        let json = ["Content-Type": "application/json"]
        #expect(try server.call("POST", "/v1/dnssec/conf.example/rollover", token: admin, headers: json, body: #"{"key": "zsk"}"#)
            .status == 404)
        #expect(try server.call("POST", "/v1/dnssec/conf.example", token: admin, headers: json, body: #"{"ksk_zsk": true}"#).status == 201)
        #expect(try server.call("POST", "/v1/dnssec/conf.example/rollover", token: write, headers: json, body: #"{"key": "zsk"}"#)
            .status == 403)
        let bad = try server.call("POST", "/v1/dnssec/conf.example/rollover", token: admin, headers: json,
                                  body: #"{"key": "zsk", "propagation": "soon"}"#)
        #expect(bad.status == 422 && bad.body.contains("propagation"), "\(bad)")
        #expect(try server.call("POST", "/v1/dnssec/conf.example/rollover", token: admin, headers: json, body: "{}").status == 422)
        let started = try server.call("POST", "/v1/dnssec/conf.example/rollover", token: admin, headers: json,
                                      body: #"{"key": "ksk", "propagation": "2h", "ds_ttl": "1h", "parent_propagation": "10m"}"#)
        try #require(started.status == 201, "\(started)")
        let keys = try #require(started.object["keys"] as? [[String: Any]])
        #expect(keys.map { $0["state"] as? String } == ["active", "published", "active"], "\(keys)")
        #expect((keys[1]["rollover"] as? [String: Any])?["ds_ttl"] as? Double == 3600)
        #expect(try server.call("POST", "/v1/dnssec/conf.example/rollover", token: admin, headers: json, body: #"{"key": "zsk"}"#)
            .status == 409, "one rollover at a time")
        #expect(try server.call("POST", "/v1/dnssec/conf.example/ds-seen", token: admin).status == 409, "nothing is pending yet")
        // The running server's rollover task works out when the new KSK is due (2 h + the DNSKEY TTL).
        var next: String? = nil
        for _ in 0..<50 where next == nil {
            usleep(100_000)
            let one = try server.call("GET", "/v1/dnssec/conf.example", token: admin)
            next = (one.object["keys"] as? [[String: Any]])?.compactMap { $0["next_at"] as? String }.first
        }
        #expect(next != nil)
        let (_, status) = try CairnProcess.run(["dnssec", "status", "conf.example", "--db", server.db])
        #expect(status.contains("published") && status.contains("NEXT"), "\(status)")
        let audit = try server.call("GET", "/v1/audit?object=dnssec:conf.example.", token: admin)
        #expect(audit.body.contains("\"rollover\""), "\(audit)")
    }

    /// The rollover lives in the store: a server stopped while the new ZSK is published, and another started
    /// later, takes the remaining steps from where the first left them.
    @Test func aRolloverOutlivesARestartOfTheServer() throws {
        let env = try Self.makeEnv(zones: [("roll.test.zone", Self.zone("roll.test."))], pool: "www.roll.test.")
        defer { try? FileManager.default.removeItem(at: env.dir) }
        _ = try env.cairn(["dnssec", "enable", "roll.test", "--ksk-zsk"])
        let oldZSK = try #require(try env.keys("roll.test").first { $0.role == "zsk" }).tag
        // Started without a server: the new key waits, published.
        _ = try env.cairn(["dnssec", "rollover", "roll.test", "--zsk", "--propagation", "5s"])
        #expect(try env.keys("roll.test").map(\.state).sorted() == ["active", "active", "published"])
        let serve = ["serve", "--zones", env.zones.path, "--db", env.db, "--dns", "127.0.0.1:0", "--rrl-ratelimit", "0"]
        var first: CairnProcess? = try CairnProcess(serve)
        // The first server works out when the published key is due, then stops before that.
        var next = "-"
        for _ in 0..<50 where next == "-" {
            usleep(100_000)
            next = try env.cairn(["dnssec", "status", "roll.test"]).split(separator: "\n")
                .first { $0.contains("published") }?.components(separatedBy: "  ").last ?? "-"
        }
        #expect(next != "-", "no next step time shown")
        first?.stop()   // seconds before the step is due (5 s + the one-second DNSKEY TTL after the rollover began)
        first = nil
        let second = try CairnProcess(serve)
        defer { second.stop() }
        var done = false
        for _ in 0..<100 where !done {
            usleep(200_000)
            let zsks = try env.keys("roll.test").filter { $0.role == "zsk" }
            done = zsks.count == 1 && zsks[0].tag != oldZSK && zsks[0].state == "active"
        }
        let keys = try env.keys("roll.test")
        #expect(done, "\(keys)")
    }

    /// Two `cairn serve` nodes on one PostgreSQL store take a ZSK rollover's steps: both serve every key set
    /// (each node's RRSIGs by a ZSK its DNSKEY RRset has, at every pass), the rollover ends, and each step was
    /// taken once (three audited `rollover` rows: start, activate, remove) though both nodes' tasks ran it.
    @Test func twoNodesOnPostgreSQLTakeEachStepOnce() throws {
        let pg = try TestPostgres.shared()
        let url = try pg.makeDatabase()
        let env = Env(dir: try Paths.tempDir())
        defer { try? FileManager.default.removeItem(at: env.dir) }
        try FileManager.default.createDirectory(at: env.zones, withIntermediateDirectories: true)
        try Self.zone("roll.test.").write(to: env.zones.appendingPathComponent("roll.test.zone"), atomically: true, encoding: .utf8)
        func cairn(_ args: [String]) throws -> String {
            let (rc, out) = try PostgresStoreTests.cairn(args + ["--store", url], pg)
            try #require(rc == 0, "cairn \(args): \(out)")
            return out
        }
        _ = try cairn(["dnssec", "enable", "roll.test", "--ksk-zsk"])
        let nodes = try ["a", "b"].map { name in
            try CairnProcess(["serve", "--zones", env.zones.path, "--store", url, "--dns", "127.0.0.1:0", "--node-name", name,
                              "--rrl-ratelimit", "0"], environment: pg.environment)
        }
        defer { for n in nodes { n.stop() } }
        let oldZSK = try #require(try cairn(["dnssec", "status", "roll.test"]).split(separator: "\n")
            .first { $0.contains("  zsk  ") }?.components(separatedBy: "  ")[2])
        _ = try cairn(["dnssec", "rollover", "roll.test", "--zsk", "--propagation", "1s"])
        var done = false
        for _ in 0..<150 where !done {
            for node in nodes {
                let keys = try DNSClient.udp("roll.test.", .dnskey, port: node.port, edns: (1232, true)).answer
                    .filter { $0.type == .dnskey }.map { DNSSECKeyTags.tag($0.rdata) }
                let a = try DNSClient.udp("static.roll.test.", .a, port: node.port, edns: (1232, true))
                let signers = a.answer.filter { $0.type == .rrsig }.map { DNSSECKeyTags.signer($0.rdata) }
                #expect(signers.count == 1 && signers.allSatisfy { keys.contains($0) }, "node \(node.port): \(signers) ∉ \(keys)")
            }
            let zsks = try cairn(["dnssec", "status", "roll.test"]).split(separator: "\n").filter { $0.contains("  zsk  ") }
            done = zsks.count == 1 && !zsks[0].contains("  \(oldZSK)  ") && zsks[0].contains("  active  ")
            usleep(200_000)
        }
        #expect(done, "the rollover did not finish")
        let database = String(url.split(separator: "/").last!.split(separator: "?")[0])
        let steps = try pg.psql(database, "SELECT count(*), count(DISTINCT node) FROM audit_log WHERE object = 'dnssec:roll.test.' "
                                          + "AND action = 'rollover'")
        #expect(steps.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("3|"), "\(steps)")
    }
}

/// Key tags and RRSIG signers from RDATA, for the tests that compare them.
enum DNSSECKeyTags {
    /// RFC 4034 Appendix B.
    static func tag(_ rdata: [UInt8]) -> Int {
        var ac = 0
        for (i, b) in rdata.enumerated() { ac += i & 1 == 1 ? Int(b) : Int(b) << 8 }
        ac += (ac >> 16) & 0xffff
        return ac & 0xffff
    }

    /// The key tag field of an RRSIG.
    static func signer(_ rdata: [UInt8]) -> Int { Int(rdata[16]) << 8 | Int(rdata[17]) }
}
