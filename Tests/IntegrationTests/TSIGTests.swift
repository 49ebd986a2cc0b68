import Foundation
import Testing

/// TSIG keys (RFC 8945) on the real server: added with `cairn tsig` or the API, checked by dnspython
/// (an independent implementation) and dig, compared with NSD configured with the same keys.
@Suite(.serialized) struct TSIGTests {
    static let zones = Paths.fixture("Tests/conformance/zones").path
    static let checker = Paths.fixture("Tests/IntegrationTests/Support/tsig_check.py").path
    /// The keys `tsig_check.py` expects: name, algorithm, secret = the octets 0, 1, 2, ... of this length.
    static let keys = [("tsig-sha256.test.", "hmac-sha256", 32), ("tsig-sha1.test.", "hmac-sha1", 20),
                       ("tsig-sha512.test.", "hmac-sha512", 64)]

    static func secret(_ octets: Int) -> String { Data((0..<octets).map { UInt8($0) }).base64EncodedString() }

    static func dig(_ port: Int, _ args: [String]) throws -> String {
        try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
                                      ["dig", "+norec", "+time=2", "+tries=1", "-p", "\(port)", "@127.0.0.1"] + args).1
    }

    /// NSD configured as the reference of `scripts/conformance` (Tests/conformance/refserver.sh, which cannot take
    /// keys and is not edited here: it is vendored), plus the three keys, on a free port; stopped by its pid.
    static func startNSD(_ dir: URL) throws -> (Process, Int) {
        let port = try OperationsDocTests.freePorts(1)[0]
        var conf = """
            server:
                ip-address: 127.0.0.1@\(port)
                do-ip6: no
                server-count: 1
                username: ""
                chroot: ""
                zonesdir: "\(zones)"
                database: ""
                zonelistfile: "\(dir.path)/zone.list"
                xfrdfile: "\(dir.path)/xfrd.state"
                xfrdir: "\(dir.path)"
                pidfile: "\(dir.path)/nsd.pid"
                logfile: "\(dir.path)/nsd.log"
                ipv4-edns-size: 1232
                rrl-ratelimit: 0
                minimal-responses: yes
                refuse-any: no
                answer-cookie: no
            remote-control:
                control-enable: no
            zone:
                name: conf.example.
                zonefile: "conf.example.zone"
            zone:
                name: other.test.
                zonefile: "other.test.zone"

            """
        for (name, algorithm, octets) in keys {
            conf += "key:\n    name: \"\(name)\"\n    algorithm: \(algorithm)\n    secret: \"\(secret(octets))\"\n"
        }
        let file = dir.appendingPathComponent("nsd.conf")
        try conf.write(to: file, atomically: true, encoding: .utf8)
        let nsd = try CairnProcess.startUnblocked("/usr/sbin/nsd", ["-d", "-c", file.path])
        if try digUntil(port, ["conf.example.", "SOA", "+short"], shows: "conf.example.", within: 10) { return (nsd, port) }
        CairnProcess.stop(nsd)
        throw CairnProcessError.didNotListen("NSD did not answer on \(port)")
    }

    /// Asks every 100 ms until the answer shows `text` (true) or `seconds` have passed (false).
    static func digUntil(_ port: Int, _ args: [String], shows text: String, within seconds: Double) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try dig(port, args).contains(text) { return true }
            usleep(100_000)
        } while Date() < deadline
        return false
    }

    /// 22 cases (valid keys of three algorithms, EDNS, TCP, NXDOMAIN, REFUSED, TC; BADSIG, BADKEY,
    /// BADTIME both ways, truncated, short, long and empty MACs, TSIG not last): Cairn's answers as RFC
    /// 8945 says and validated by dnspython, NSD's the same but for the differences docs/dns.md lists.
    @Test func signedQueriesAgreeWithDnspythonAndWithNSD() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("cairn.sqlite").path
        for (name, algorithm, octets) in Self.keys {
            let file = dir.appendingPathComponent(name + "secret")
            try Self.secret(octets).write(to: file, atomically: true, encoding: .utf8)
            let (rc, out) = try CairnProcess.run(["tsig", "add", name, "--algorithm", algorithm, "--secret-file", file.path,
                                                  "--db", db])
            #expect(rc == 0, "\(out)")
            #expect(!out.contains(Self.secret(octets)), "a secret from a file is not printed again")
        }
        let cairn = try CairnProcess(["serve", "--zones", Self.zones, "--db", db, "--dns", "127.0.0.1:0", "--api", "",
                                      "--udp-workers", "1"])
        defer { cairn.stop() }
        let (nsd, nsdPort) = try Self.startNSD(dir)
        defer { CairnProcess.stop(nsd) }
        let (rc, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/python3"),
                                                      [Self.checker, "\(cairn.port)", "\(nsdPort)"])
        #expect(rc == 0, "\(out)")
        #expect(out.contains("22 passed, 0 failed"), "\(out)")
        for (_, _, octets) in Self.keys { #expect(!cairn.stderr.value.contains(Self.secret(octets)), "a secret in the log") }
    }

    /// A key added through the API with an admin token signs answers without a restart (the store's change
    /// rebuilds the snapshot); a write token may neither list nor add keys; the secret is in the POST's
    /// answer only: not in the list, the audit log, the server's log or `cairn export`. Removed, the key is BADKEY.
    @Test func aKeyAddedThroughTheAPIWorksWithoutRestartAndOnlyForAdmin() throws {
        let server = try APIServer.start(zones: Self.zones, config: nil)
        defer { server.stop() }
        let admin = try server.token(scope: "admin"), write = try server.token(scope: "write")
        let body = #"{"name": "API-Key.Test", "algorithm": "hmac-sha384"}"#
        #expect(try server.call("POST", "/v1/tsig-keys", token: write, headers: ["Content-Type": "application/json"], body: body)
            .status == 403)
        #expect(try server.call("GET", "/v1/tsig-keys", token: write).status == 403)
        let created = try server.call("POST", "/v1/tsig-keys", token: admin, headers: ["Content-Type": "application/json"],
                                      body: body)
        try #require(created.status == 201, "\(created)")
        let secret = try #require(created.object["secret"] as? String)
        #expect(created.object["name"] as? String == "api-key.test.")
        #expect((created.object["key_file"] as? String)?.contains("secret \"\(secret)\";") == true)
        #expect(Data(base64Encoded: secret)?.count == 48)
        #expect(try server.call("POST", "/v1/tsig-keys", token: admin, headers: ["Content-Type": "application/json"], body: body)
            .status == 409)

        // dig -y signs with the key and verifies the answer's TSIG; within a few store checks it is answered.
        let signed = ["-y", "hmac-sha384:api-key.test:\(secret)", "www.conf.example.", "A"]
        #expect(try Self.digUntil(server.dnsPort, signed, shows: "status: NOERROR", within: 5))
        var answer = try Self.dig(server.dnsPort, signed)
        #expect(answer.contains("status: NOERROR") && answer.contains("192.0.2.20"), "\(answer)")
        #expect(!answer.lowercased().contains("couldn't verify") && !answer.contains("failure"), "\(answer)")
        // The same key with another secret: BADSIG.
        let wrong = try Self.dig(server.dnsPort, ["-y", "hmac-sha384:api-key.test:\(Self.secret(48))", "www.conf.example.", "A"])
        #expect(wrong.contains("status: NOTAUTH"), "\(wrong)")

        let list = try server.call("GET", "/v1/tsig-keys", token: admin)
        #expect(list.status == 200 && list.body.contains("api-key.test.") && !list.body.contains(secret), "\(list)")
        let audit = try server.call("GET", "/v1/audit?object=tsig-key:api-key.test.", token: admin)
        #expect(audit.body.contains("\"create\"") && !audit.body.contains(secret), "\(audit)")
        let (_, export) = try CairnProcess.run(["export", "--db", server.db])
        #expect(!export.contains(secret) && !export.contains("api-key"))
        #expect(!server.process.stderr.value.contains(secret))

        #expect(try server.call("DELETE", "/v1/tsig-keys/API-KEY.test", token: write).status == 403)
        #expect(try server.call("DELETE", "/v1/tsig-keys/API-KEY.test", token: admin).status == 204)
        #expect(try server.call("DELETE", "/v1/tsig-keys/API-KEY.test", token: admin).status == 404)
        #expect(try Self.digUntil(server.dnsPort, signed, shows: "status: NOTAUTH", within: 5))
        answer = try Self.dig(server.dnsPort, signed)
        #expect(answer.contains("status: NOTAUTH"), "removed: BADKEY\n\(answer)")
    }

    /// `cairn tsig add NAME` prints a BIND key file that `dig -k` reads as it is; `list` shows no secret.
    @Test func theKeyFileOfCairnTsigAddWorksWithDigK() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("cairn.sqlite").path
        let (rc, out) = try CairnProcess.run(["tsig", "add", "cli-key.test", "--db", db])
        try #require(rc == 0, "\(out)")
        let keyFile = dir.appendingPathComponent("cli.key")
        // (run() merges stderr, where the new store is announced; `cairn tsig add NAME > key` keeps stdout alone)
        try out.split(separator: "\n").filter { !$0.hasPrefix("cairn: created a new") }.joined(separator: "\n")
            .write(to: keyFile, atomically: true, encoding: .utf8)
        let secretLine = try #require(out.split(separator: "\n").first { $0.contains("secret \"") })
        let secret = String(secretLine.split(separator: "\"")[1])
        let (_, list) = try CairnProcess.run(["tsig", "list", "--db", db])
        #expect(list.contains("cli-key.test.  hmac-sha256") && !list.contains(secret), "\(list)")
        let server = try CairnProcess(["serve", "--zones", Self.zones, "--db", db, "--dns", "127.0.0.1:0", "--api", "",
                                       "--udp-workers", "1"])
        defer { server.stop() }
        let answer = try Self.dig(server.port, ["-k", keyFile.path, "www.conf.example.", "A"])
        #expect(answer.contains("status: NOERROR") && answer.contains("192.0.2.20"), "\(answer)")
        #expect(!answer.lowercased().contains("couldn't verify") && !answer.contains("failure"), "\(answer)")
        let (rm, removed) = try CairnProcess.run(["tsig", "remove", "cli-key.test", "--db", db])
        #expect(rm == 0 && removed.contains("removed"), "\(removed)")
    }
}
