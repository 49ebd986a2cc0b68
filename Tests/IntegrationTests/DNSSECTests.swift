import DNSWire
import Foundation
import Testing

/// Online DNSSEC on the real server, judged by independent validators: a real validating Unbound with the
/// zone's DS as its trust anchor (a stub zone pointed at Cairn), and dnspython's `dns.dnssec.validate` on
/// every RRSIG Cairn sends. Keys are made by `cairn dnssec enable`, the anchor read from `cairn dnssec ds`.
@Suite(.serialized) struct DNSSECTests {
    static let zone = """
    $ORIGIN sec.test.
    $TTL 300
    @           IN SOA ns hostmaster 1 3600 600 86400 60
    @           IN NS  ns
    ns          IN A   127.0.0.1
    static      IN A   192.0.2.1
    static      IN TXT "hello"
    alias       IN CNAME alias2
    alias2      IN CNAME static
    *.wild      IN A   192.0.2.7
    *.wild      IN TXT "wildcard"
    unsigned    IN NS  ns.unsigned
    ns.unsigned IN A   127.0.0.1
    signedchild IN NS  ns.signedchild
    signedchild IN DS  12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE5FC6A5AB0F1B3C6A5E8C5B71
    ns.signedchild IN A 127.0.0.1
    """

    /// An unsigned child zone served by the same server (its parent proves there is no DS).
    static let child = """
    $ORIGIN unsigned.sec.test.
    $TTL 300
    @    IN SOA ns hostmaster 1 3600 600 86400 60
    @    IN NS  ns
    ns   IN A   127.0.0.1
    www  IN A   192.0.2.50
    """

    static let config = """
    sites:
      - {name: fra, region: eu}
      - {name: iad, region: us}
    pools:
      - name: www.sec.test.
        type: A
        policy: closest
        ttl: 30
        answers: 1
        ecs: true
        members:
          - {site: fra, address: 192.0.2.10}
          - {site: iad, address: 198.51.100.10}
    topology:
      - {network: 203.0.113.0/24, region: eu}
      - {network: 127.0.0.0/8, site: iad}
    """

    struct Env {
        let dir: URL
        var zones: String { dir.appendingPathComponent("zones").path }
        var db: String { dir.appendingPathComponent("cairn.sqlite").path }
    }

    static func makeEnv() throws -> Env {
        let dir = try Paths.tempDir()
        let zones = dir.appendingPathComponent("zones")
        try FileManager.default.createDirectory(at: zones, withIntermediateDirectories: true)
        try zone.write(to: zones.appendingPathComponent("sec.test.zone"), atomically: true, encoding: .utf8)
        try child.write(to: zones.appendingPathComponent("unsigned.sec.test.zone"), atomically: true, encoding: .utf8)
        let env = Env(dir: dir)
        let file = dir.appendingPathComponent("gslb.yaml")
        try config.write(to: file, atomically: true, encoding: .utf8)
        let (rc, out) = try CairnProcess.run(["apply", "-f", file.path, "--db", env.db, "--zones", env.zones])
        try #require(rc == 0, "\(out)")
        let (rc2, out2) = try CairnProcess.run(["dnssec", "enable", "sec.test", "--db", env.db])
        try #require(rc2 == 0, "\(out2)")
        return env
    }

    /// A validating Unbound on a free port, `zone` stubbed to Cairn, `anchor` its only trust anchor.
    static func startUnbound(_ dir: URL, cairnPort: Int, anchor: String, zone: String = "sec.test.") throws -> (Process, Int) {
        let port = try OperationsDocTests.freePorts(1)[0]
        let conf = """
            server:
                interface: 127.0.0.1
                port: \(port)
                do-ip6: no
                username: ""
                chroot: ""
                directory: "\(dir.path)"
                pidfile: "\(dir.path)/unbound.pid"
                use-syslog: no
                logfile: "\(dir.path)/unbound.log"
                verbosity: 1
                val-log-level: 2
                do-not-query-localhost: no
                module-config: "validator iterator"
                trust-anchor: "\(anchor)"
                aggressive-nsec: no
                qname-minimisation: no
                local-zone: "test." nodefault
            remote-control:
                control-enable: no
            stub-zone:
                name: "\(zone)"
                stub-addr: 127.0.0.1@\(cairnPort)

            """
        let file = dir.appendingPathComponent("unbound-\(port).conf")
        try conf.write(to: file, atomically: true, encoding: .utf8)
        let unbound = try CairnProcess.startUnblocked("/usr/sbin/unbound", ["-d", "-c", file.path])
        let deadline = Date().addingTimeInterval(10)
        repeat {
            if try dig(port, ["ns.\(zone)", "A"]).contains("status: ") { return (unbound, port) }
            usleep(100_000)
        } while Date() < deadline
        CairnProcess.stop(unbound)
        throw CairnProcessError.didNotListen("Unbound did not answer on \(port)")
    }

    /// `dig +dnssec` through the resolver at `port` (recursion desired).
    static func dig(_ port: Int, _ args: [String]) throws -> String {
        try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
                                      ["dig", "+dnssec", "+adflag", "+time=3", "+tries=1", "-p", "\(port)", "@127.0.0.1"] + args).1
    }

    static func flags(_ out: String) -> [String] {
        // ";; flags: qr rd ra ad; QUERY: 1, ..."
        guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix(";; flags:") }) else { return [] }
        let f = line.dropFirst(";; flags:".count).prefix { $0 != ";" }
        return f.split(separator: " ").map(String.init)
    }

    static func status(_ out: String) -> String {
        guard let r = out.range(of: "status: ") else { return "no answer" }
        return String(out[r.upperBound...].prefix { $0 != "," })
    }

    /// What a validator must find secure: (name, type, expected status, expected text in the answer).
    static let secure: [(String, String, String, String?)] = [
        ("sec.test.", "DNSKEY", "NOERROR", "DNSKEY\t257 3 13"),
        ("static.sec.test.", "A", "NOERROR", "192.0.2.1"),
        ("static.sec.test.", "TXT", "NOERROR", "\"hello\""),
        ("www.sec.test.", "A", "NOERROR", "198.51.100.10"),
        ("alias.sec.test.", "A", "NOERROR", "192.0.2.1"),
        ("anything.wild.sec.test.", "A", "NOERROR", "192.0.2.7"),
        ("a.b.wild.sec.test.", "TXT", "NOERROR", "\"wildcard\""),
        ("anything.wild.sec.test.", "AAAA", "NOERROR", nil),   // wildcard NODATA
        ("nonexistent.sec.test.", "A", "NOERROR", nil),         // compact denial: NOERROR, not NXDOMAIN
        ("static.sec.test.", "AAAA", "NOERROR", nil),           // NODATA
        ("www.sec.test.", "AAAA", "NOERROR", nil),              // NODATA at a pool name
        ("unsigned.sec.test.", "DS", "NOERROR", nil),           // no DS: the delegation is insecure, provably
        ("signedchild.sec.test.", "DS", "NOERROR", "DS\t12345 13 2"),
        ("static.sec.test.", "NSEC", "NOERROR", "NSEC\t\\000.static.sec.test. A TXT RRSIG NSEC"),   // the name's own NSEC
        ("nonexistent.sec.test.", "NSEC", "NOERROR", "NSEC\t\\000.nonexistent.sec.test. RRSIG NSEC TYPE128"),   // NXNAME
    ]

    @Test func aValidatingUnboundGetsSecureAnswersForEveryKindOfName() throws {
        let env = try Self.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let (rc, ds) = try CairnProcess.run(["dnssec", "ds", "sec.test", "--db", env.db])
        try #require(rc == 0 && ds.contains(" IN DS "), "\(ds)")
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0",
                                       "--rrl-ratelimit", "0"])
        let (unbound, port) = try Self.startUnbound(env.dir, cairnPort: server.port,
                                                    anchor: ds.trimmingCharacters(in: .whitespacesAndNewlines))
        defer { CairnProcess.stop(unbound) }
        for (name, type, status, text) in Self.secure {
            let out = try Self.dig(port, [name, type])
            #expect(Self.status(out) == status, "\(name) \(type): \(out)")
            #expect(Self.flags(out).contains("ad"), "\(name) \(type) is not secure: \(out)")
            if let text { #expect(out.contains(text), "\(name) \(type): \(out)") }
        }
        // Below the unsigned child: answered, insecure (no AD), never SERVFAIL.
        let insecure = try Self.dig(port, ["www.unsigned.sec.test.", "A"])
        #expect(Self.status(insecure) == "NOERROR", "\(insecure)")
        #expect(insecure.contains("192.0.2.50"))
        #expect(!Self.flags(insecure).contains("ad"), "\(insecure)")
        let log = (try? String(contentsOf: env.dir.appendingPathComponent("unbound.log"), encoding: .utf8)) ?? ""
        #expect(!log.contains("validation failure"), "\(log)")
    }

    /// BIND's delv (another validator) with the DS as its trust anchor, asking the server itself
    /// (+root=sec.test.): every name of `secure` fully validated, negative answers as proven negative.
    @Test func delvValidatesTheSameNames() throws {
        let env = try Self.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let (_, ds) = try CairnProcess.run(["dnssec", "ds", "sec.test", "--db", env.db])
        let f = ds.split(whereSeparator: \.isWhitespace)   // sec.test. 3600 IN DS TAG ALG 2 HEX
        try #require(f.count == 8, "\(ds)")
        let anchors = env.dir.appendingPathComponent("anchors.conf")
        try "trust-anchors { \(f[0]) static-ds \(f[4]) \(f[5]) \(f[6]) \"\(f[7])\"; };\n".write(to: anchors, atomically: true, encoding: .utf8)
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0", "--rrl-ratelimit", "0"])
        for (name, type, _, text) in Self.secure {
            let out = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
                                                    ["delv", "@127.0.0.1", "-p", "\(server.port)", "-a", anchors.path, "+root=sec.test.",
                                                     name, type]).1
            if let text {
                #expect(out.contains("; fully validated") && !out.contains("resolution failed"), "\(name) \(type): \(out)")
                #expect(out.contains(text.replacingOccurrences(of: "\t", with: " ")) || out.contains(text), "\(name) \(type): \(out)")
            } else {
                #expect(out.contains("; negative response, fully validated"), "\(name) \(type): \(out)")
            }
        }
    }

    @Test func brokenSignaturesMakeUnboundAnswerServfail() throws {
        let env = try Self.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let (_, ds) = try CairnProcess.run(["dnssec", "ds", "sec.test", "--db", env.db])
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0", "--rrl-ratelimit", "0"],
                                      environment: ["CAIRN_TEST_CORRUPT_RRSIG": "1"])
        let (unbound, port) = try Self.startUnbound(env.dir, cairnPort: server.port,
                                                    anchor: ds.trimmingCharacters(in: .whitespacesAndNewlines))
        defer { CairnProcess.stop(unbound) }
        for (name, type) in [("static.sec.test.", "A"), ("www.sec.test.", "A"), ("nonexistent.sec.test.", "A")] {
            let out = try Self.dig(port, [name, type])
            #expect(Self.status(out) == "SERVFAIL", "\(name) \(type): \(out)")
        }
    }

    @Test func everyRRSIGVerifiesWithDnspython() throws {
        let env = try Self.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0", "--rrl-ratelimit", "0"])
        let checker = Paths.fixture("Tests/IntegrationTests/Support/dnssec_check.py").path
        let queries = ["sec.test./SOA", "sec.test./NS", "static.sec.test./A", "Static.SEC.test./TXT", "www.sec.test./A",
                       "www.sec.test./A/203.0.113.0/24", "www.sec.test./A/198.51.100.0/24", "alias.sec.test./A",
                       "x.wild.sec.test./A", "x.y.wild.sec.test./TXT", "x.wild.sec.test./MX", "nonexistent.sec.test./A",
                       "static.sec.test./AAAA", "unsigned.sec.test./DS", "host.unsigned.sec.test./A",
                       "signedchild.sec.test./DS", "host.signedchild.sec.test./A", "www.unsigned.sec.test./A", "sec.test./CDS", "sec.test./CDNSKEY",
                       "wild.sec.test./A", "static.sec.test./NSEC", "nonexistent.sec.test./NSEC"]
        let (st, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/python3"),
                                                      [checker, "\(server.port)", "sec.test.", "unsigned.sec.test."] + queries)
        #expect(st == 0, "\(out)")
        #expect(out.contains("nonexistent.sec.test./A: rcode NOERROR, 2 RRsets validated"), "\(out)")
        #expect(out.contains("x.wild.sec.test./A: rcode NOERROR, 2 RRsets validated"), "\(out)")
        #expect(out.contains("host.signedchild.sec.test./A: rcode NOERROR, 1 RRsets validated"), "\(out)")
        #expect(out.contains("www.unsigned.sec.test./A: rcode NOERROR, 0 RRsets validated"), "\(out)")
        #expect(out.contains("nonexistent.sec.test./NSEC: rcode NOERROR, 1 RRsets validated"), "\(out)")
    }

    /// The RRSIG fields Cairn writes (type covered, algorithm, labels, original TTL, key tag, signer, and the
    /// RRSIG's TTL) are what ldns computes for the same RRsets: `ldns-signzone` signs the zone file with the
    /// zone's own key (read from the store), and each RRSIG Cairn sends is compared with ldns's for the same owner
    /// (the wildcard's `*` owner for an expanded answer) and type. Only the times and the signature differ.
    @Test func theRRSIGFieldsAreWhatLdnsComputesForTheSameRRsets() throws {
        let env = try Self.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let (_, row) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
                                                     ["sqlite3", env.db, "SELECT public_key, private_key FROM dnssec_keys"])
        let parts = row.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|")
        try #require(parts.count == 2, "\(row)")
        let base = env.dir.appendingPathComponent("Ksec.test.+013+00000").path
        try "sec.test. IN DNSKEY 257 3 13 \(parts[0])\n".write(toFile: base + ".key", atomically: true, encoding: .utf8)
        try "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: \(parts[1])\n"
            .write(toFile: base + ".private", atomically: true, encoding: .utf8)
        let zoneFile = URL(fileURLWithPath: env.zones).appendingPathComponent("sec.test.zone").path
        let signedFile = env.dir.appendingPathComponent("sec.test.signed").path
        let (st, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
                                                      ["ldns-signzone", "-o", "sec.test.", "-f", signedFile, zoneFile, base])
        try #require(st == 0, "\(out)")
        /// RRSIG presentation → owner, covered type and the compared fields.
        func fields(_ line: Substring) -> (owner: String, covered: String, compared: [String])? {
            let f = line.split(whereSeparator: \.isWhitespace).map(String.init)
            guard f.count >= 12, f[3] == "RRSIG" else { return nil }
            return (f[0].lowercased(), f[4], [f[1], f[4], f[5], f[6], f[7], f[10], f[11].lowercased()])
        }
        let ldns = try String(contentsOfFile: signedFile, encoding: .utf8).split(separator: "\n").compactMap(fields)
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0", "--rrl-ratelimit", "0"])
        let cases: [(String, String, String)] = [
            ("sec.test.", "SOA", "sec.test."), ("sec.test.", "NS", "sec.test."), ("sec.test.", "DNSKEY", "sec.test."),
            ("static.sec.test.", "A", "static.sec.test."), ("static.sec.test.", "TXT", "static.sec.test."),
            ("alias.sec.test.", "CNAME", "alias.sec.test."), ("ns.sec.test.", "A", "ns.sec.test."),
            ("x.y.wild.sec.test.", "A", "*.wild.sec.test."), ("any.wild.sec.test.", "TXT", "*.wild.sec.test."),
            ("signedchild.sec.test.", "DS", "signedchild.sec.test."),
        ]
        for (name, type, ldnsOwner) in cases {
            let answer = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
                ["dig", "+dnssec", "+norec", "+noall", "+answer", "-p", "\(server.port)", "@127.0.0.1", name, type]).1
            let cairn = answer.split(separator: "\n").compactMap(fields).filter { $0.covered == type }
            let expected = ldns.filter { $0.owner == ldnsOwner && $0.covered == type }
            #expect(cairn.count == 1 && expected.count == 1, "\(name) \(type): \(answer)")
            #expect(cairn.map(\.compared) == expected.map(\.compared), "\(name) \(type): Cairn \(cairn), ldns \(expected)")
        }
    }

    /// The admin API (admin scope only) enables a zone: its answers are signed before the response, the
    /// response and listings show public keys and DS but no private key, nor do the audit log, the server's
    /// log or `cairn export`; disabled, answers are unsigned again.
    @Test func theAPIEnablesAndDisablesSigningForAdminTokensOnly() throws {
        let server = try APIServer.start(zones: Paths.fixture("Tests/conformance/zones").path, config: nil)
        defer { server.stop() }
        let admin = try server.token(scope: "admin"), write = try server.token(scope: "write")
        let json = ["Content-Type": "application/json"]
        #expect(try server.call("POST", "/v1/dnssec/conf.example", token: write, headers: json, body: "{}").status == 403)
        #expect(try server.call("GET", "/v1/dnssec", token: write).status == 403)
        let bad = try server.call("POST", "/v1/dnssec/conf.example", token: admin, headers: json, body: #"{"algorithm": "rsasha1"}"#)
        #expect(bad.status == 422 && bad.body.contains("algorithm"), "\(bad)")
        let created = try server.call("POST", "/v1/dnssec/Conf.Example", token: admin, headers: json, body: #"{"ksk_zsk": true}"#)
        try #require(created.status == 201, "\(created)")
        #expect(created.object["zone"] as? String == "conf.example.")
        let keys = try #require(created.object["keys"] as? [[String: Any]])
        #expect(keys.map { $0["role"] as? String } == ["ksk", "zsk"] && keys.allSatisfy { $0["private_key"] == nil })
        #expect((created.object["ds"] as? [String])?.first?.contains(" IN DS \(keys[0]["key_tag"] as? Int ?? -1) 13 2 ") == true)
        #expect(try server.call("POST", "/v1/dnssec/conf.example.", token: admin, headers: json, body: "{}").status == 409)
        // Signed already: the write was published before the response.
        let signed = try DNSClient.udp("www.conf.example.", .a, port: server.dnsPort, edns: (1232, true))
        #expect(signed.answer.map(\.type) == [.a, .rrsig], "\(signed)")

        let one = try server.call("GET", "/v1/dnssec/conf.example.", token: admin)
        #expect(one.status == 200 && (one.object["dnskey"] as? [String])?.count == 2, "\(one)")
        #expect(try server.call("GET", "/v1/dnssec/other.test", token: admin).status == 404)
        let list = try server.call("GET", "/v1/dnssec", token: admin)
        #expect(list.status == 200 && list.body.contains("conf.example."), "\(list)")
        let (_, db) = try CairnProcess.run(["dnssec", "status", "--db", server.db])
        #expect(db.contains("conf.example.  ksk") && db.contains("conf.example.  zsk"), "\(db)")
        // No private key anywhere it could leak.
        let (_, sqlite) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
                                                       ["sqlite3", server.db, "SELECT private_key FROM dnssec_keys"])
        let secrets = sqlite.split(separator: "\n").map(String.init).filter { $0.count >= 40 }
        #expect(secrets.count == 2, "\(sqlite)")
        let audit = try server.call("GET", "/v1/audit?object=dnssec:conf.example.", token: admin)
        let (_, export) = try CairnProcess.run(["export", "--db", server.db])
        for secret in secrets {
            for text in [created.body, one.body, list.body, audit.body, export, server.process.stderr.value, db] {
                #expect(!text.contains(secret), "a private key leaked")
            }
        }
        #expect(audit.body.contains("\"create\""), "\(audit)")
        let attributes = try FileManager.default.attributesOfItem(atPath: server.db)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        #expect(try server.call("DELETE", "/v1/dnssec/conf.example", token: write).status == 403)
        #expect(try server.call("DELETE", "/v1/dnssec/conf.example", token: admin).status == 204)
        let unsigned = try DNSClient.udp("www.conf.example.", .a, port: server.dnsPort, edns: (1232, true))
        #expect(unsigned.answer.map(\.type) == [.a], "\(unsigned)")
        #expect(try server.call("DELETE", "/v1/dnssec/conf.example", token: admin).status == 404)
    }
}
