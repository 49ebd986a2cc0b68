import DNSWire
import Foundation
import Testing

/// The admin API end to end: a real `cairn serve` with a real SQLite file, requests over a
/// real TCP socket, answers checked over real UDP.
@Suite(.serialized) struct AdminAPITests {
    struct Server {
        let env: GSLBTests.Env
        let process: CairnProcess
        let admin: String
        let write: String
        let read: String
        var api: Int { process.apiPort }
        var dns: Int { process.port }

        func call(_ method: String, _ path: String, token: String? = nil, body: String? = nil,
                  contentType: String? = "application/json", headers: [String: String] = [:]) throws -> AdminHTTP.Reply {
            try AdminHTTP.request(method, port: api, path, token: token, body: body, contentType: contentType, headers: headers)
        }

        /// Everything a write could change, as the API shows it.
        func state() throws -> String {
            try ["/v1/sites", "/v1/pools", "/v1/monitors", "/v1/topology", "/v1/overrides"]
                .map { try call("GET", $0, token: admin).body }.joined(separator: "\n")
        }

        func audit() throws -> [[String: Any]] {
            (try call("GET", "/v1/audit?limit=1000", token: admin).object["entries"] as? [[String: Any]]) ?? []
        }

        func answer(from client: [UInt8] = [203, 0, 113, 0]) throws -> [String] {
            let m = try DNSClient.udp("www.gslb.test.", .a, port: dns, edns: (1232, false),
                                      options: GSLBTests.ecs(client, 24))
            return GSLBTests.addresses(m)
        }
    }

    static func token(_ db: String, _ scope: String, expires: String? = nil) throws -> String {
        var args = ["token", "create", "--scope", scope, "--db", db]
        if let expires { args += ["--expires", expires] }
        let (rc, out) = try CairnProcess.run(args)
        #expect(rc == 0, "\(out)")
        return String(out.split(separator: "\n").last ?? "")
    }

    static func start(extra: [String] = []) throws -> Server {
        let env = try GSLBTests.makeEnv()
        let f = try env.file("gslb.yaml", GSLBTests.config())
        let (rc, out) = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        #expect(rc == 0, "\(out)")
        let admin = try token(env.db, "admin"), write = try token(env.db, "write"), read = try token(env.db, "read")
        let p = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0"] + extra)
        return Server(env: env, process: p, admin: admin, write: write, read: read)
    }

    // MARK: - Authorization

    /// Every endpoint, with a body that would succeed for a token of the right scope.
    static let endpoints: [(method: String, path: String, scope: String, body: String?)] = [
        ("GET", "/metrics", "read", nil),
        ("GET", "/v1/sites", "read", nil), ("POST", "/v1/sites", "write", #"{"name":"ams"}"#),
        ("GET", "/v1/sites/fra", "read", nil), ("PUT", "/v1/sites/fra", "write", #"{"region":"eu2"}"#),
        ("DELETE", "/v1/sites/iad", "write", nil),
        ("GET", "/v1/pools", "read", nil),
        ("POST", "/v1/pools", "write", #"{"name":"api.gslb.test.","members":[{"site":"fra","address":"192.0.2.20"}]}"#),
        ("GET", "/v1/pools/www.gslb.test.?type=A", "read", nil),
        ("PUT", "/v1/pools/www.gslb.test.?type=A", "write", #"{"ttl":60}"#),
        ("DELETE", "/v1/pools/www.gslb.test.?type=AAAA", "write", nil),
        ("GET", "/v1/pools/www.gslb.test./members?type=A", "read", nil),
        ("POST", "/v1/pools/www.gslb.test./members?type=A", "write", #"{"site":"fra","address":"192.0.2.11"}"#),
        ("GET", "/v1/pools/www.gslb.test./members/192.0.2.10?type=A", "read", nil),
        ("PUT", "/v1/pools/www.gslb.test./members/192.0.2.10?type=A", "write", #"{"weight":7}"#),
        ("DELETE", "/v1/pools/www.gslb.test./members/192.0.2.10?type=A", "write", nil),
        ("GET", "/v1/monitors", "read", nil),
        ("POST", "/v1/monitors", "write", #"{"name":"t","type":"tcp","port":80}"#),
        ("GET", "/v1/monitors/none", "read", nil),
        ("PUT", "/v1/monitors/none", "write", #"{"type":"tcp","port":80}"#),
        ("DELETE", "/v1/monitors/none", "write", nil),
        ("GET", "/v1/topology", "read", nil), ("PUT", "/v1/topology", "write", #"{"topology":[]}"#),
        ("POST", "/v1/topology", "write", #"{"network":"10.0.0.0/8","site":"fra"}"#),
        ("DELETE", "/v1/topology?network=127.0.0.0/8", "write", nil),
        ("GET", "/v1/overrides", "read", nil),
        ("POST", "/v1/overrides", "write", #"{"scope":"site","target":"fra","state":"down","reason":"x","expires_in":"1h"}"#),
        ("GET", "/v1/overrides/1", "read", nil), ("DELETE", "/v1/overrides/1", "write", nil),
        ("GET", "/v1/health", "read", nil), ("GET", "/v1/explain?name=www.gslb.test.", "read", nil),
        ("GET", "/v1/audit", "read", nil), ("GET", "/v1/zones", "read", nil),
        ("POST", "/v1/zones/reload", "write", nil),
        ("POST", "/v1/config/preview?prune=false", "write", #"{"sites":[{"name":"fra","region":"eu"}]}"#),
        ("GET", "/v1/tokens", "admin", nil), ("POST", "/v1/tokens", "admin", #"{"name":"n","scope":"read"}"#),
        ("DELETE", "/v1/tokens/1", "admin", nil),
    ]

    @Test func everyEndpointRefusesMissingWrongExpiredAndTooSmallTokensAndChangesNothing() throws {
        let s = try Self.start(extra: ["--api-max-auth-failures", "100000"])
        let expired = try Self.token(s.env.db, "admin", expires: "1s")
        Thread.sleep(forTimeInterval: 1.2)
        let before = try s.state()
        let answerBefore = try s.answer()
        let auditBefore = try s.audit().count
        var unauthorized = 0
        for e in Self.endpoints {
            let cases: [(String?, Int, String)] = [
                (nil, 401, "no token"), ("cairn_wrongwrongwrongwrongwrongwrongwrongwrongwro", 401, "wrong token"),
                (expired, 401, "expired token"),
            ] + (e.scope == "read" ? [] : [(s.read, 403, "read scope")]) + (e.scope == "admin" ? [(s.write, 403, "write scope")] : [])
            for (token, status, what) in cases {
                let r = try s.call(e.method, e.path, token: token, body: e.body)
                #expect(r.status == status, "\(e.method) \(e.path) with \(what): \(r.status) \(r.body)")
                #expect(r.field == "Authorization", "\(e.method) \(e.path) with \(what): \(r.body)")
                if status == 401 {
                    unauthorized += 1
                    #expect(r.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
                }
            }
        }
        #expect(try s.state() == before)
        #expect(try s.answer() == answerBefore)
        let rows = try s.audit()
        // Exactly one audit row per failed authentication, and nothing else.
        #expect(rows.count == auditBefore + unauthorized)
        #expect(rows.dropFirst(auditBefore).allSatisfy { ($0["action"] as? String) == "auth-failure" })
        // No anonymous access but /healthz, /readyz and the contract, /openapi.json.
        #expect(try s.call("GET", "/healthz").status == 200)
        #expect(try s.call("GET", "/readyz").status == 200)
        #expect(try s.call("GET", "/openapi.json").status == 200)
    }

    @Test func repeatedFailedAuthenticationsFromOneAddressGet429ButAGoodTokenStillWorks() throws {
        let s = try Self.start(extra: ["--api-max-auth-failures", "5"])
        for i in 0..<5 {
            #expect(try s.call("GET", "/v1/sites", token: "bad\(i)").status == 401)
        }
        let r = try s.call("GET", "/v1/sites", token: "bad")
        #expect(r.status == 429, "\(r.body)")
        #expect((r.object["error"] as? String) == "rate-limited")
        #expect(try s.call("GET", "/v1/sites", token: s.read).status == 200)
        // Refused attempts past the limit are not audited one by one.
        #expect(try s.audit().filter { ($0["action"] as? String) == "auth-failure" }.count == 5)
    }

    // MARK: - Validation

    /// (method, path, body, status, field): each is refused, naming the field.
    static let invalid: [(String, String, String?, Int, String?)] = [
        ("POST", "/v1/sites", #"{"name":"bad name!"}"#, 422, "name"),
        ("POST", "/v1/sites", #"{"name":""}"#, 422, "name"),
        ("POST", "/v1/sites", #"{"region":"eu"}"#, 422, "name"),
        ("POST", "/v1/sites", #"{"name":"x1","capacity":-5}"#, 422, "capacity"),
        ("POST", "/v1/sites", #"{"name":"x2","capacity":"lots"}"#, 422, "capacity"),
        ("POST", "/v1/sites", #"{"name":"x3","location":{"lat":100,"lon":0}}"#, 422, "location.lat"),
        ("POST", "/v1/sites", #"{"name":"x4","colour":"red"}"#, 422, "colour"),
        ("POST", "/v1/sites", #"{"name":"fra"}"#, 409, "name"),
        ("POST", "/v1/sites", #"[1,2]"#, 422, "body"),
        ("POST", "/v1/sites", #"{"name": "x5""#, 400, "body"),
        ("POST", "/v1/pools", #"{"name":"www.other.test.","members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "name"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","members":[{"site":"fra","address":"2001:db8::1"}]}"#, 422, "members[0].address"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","type":"AAAA","members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "members[0].address"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","members":[{"site":"fra","address":"192.0.2.1","weight":-1}]}"#, 422, "members[0].weight"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","members":[{"site":"nowhere","address":"192.0.2.1"}]}"#, 422, "members[0].site"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","members":[{"site":"fra","address":"192.0.2.1"},{"site":"iad","address":"192.0.2.1"}]}"#, 422, "members[1].address"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","ttl":0,"members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "ttl"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","ttl":100000,"members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "ttl"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","ttl":"30","members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "ttl"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","policy":"random","members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "policy"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","type":"MX","members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "type"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","members":[]}"#, 422, "members"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","answers":0,"members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "answers"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","fallback":"pool:none.gslb.test.","members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "fallback"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","monitor":"nope","members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "monitor"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","ecs":"yes","members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "ecs"),
        ("POST", "/v1/pools", #"{"name":"a.gslb.test.","rto":"5","members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "rto"),
        ("POST", "/v1/pools", #"{"name":"a..gslb.test.","members":[{"site":"fra","address":"192.0.2.1"}]}"#, 422, "name"),
        ("POST", "/v1/pools", #"{"name":"www.gslb.test.","members":[{"site":"fra","address":"192.0.2.1"}]}"#, 409, "name"),
        ("POST", "/v1/pools/www.gslb.test./members?type=A", #"{"site":"fra","address":"300.1.1.1"}"#, 422, "address"),
        ("POST", "/v1/pools/www.gslb.test./members?type=A", #"{"site":"fra","address":"192.0.2.10"}"#, 409, "address"),
        ("POST", "/v1/pools/www.gslb.test./members?type=A", #"{"site":"fra","address":"192.0.2.12","weight":-1}"#, 422, "weight"),
        ("POST", "/v1/pools/www.gslb.test./members?type=A", #"{"site":"fra","address":"192.0.2.12","priority":300}"#, 422, "priority"),
        ("POST", "/v1/pools/www.gslb.test./members?type=A", #"{"site":"fra","address":"192.0.2.12","state":"off"}"#, 422, "state"),
        ("POST", "/v1/pools/www.gslb.test./members?type=A", #"{"site":"mars","address":"192.0.2.12"}"#, 422, "site"),
        ("POST", "/v1/pools/www.gslb.test./members?type=A", #"{"site":"fra","address":"192.0.2.12","probe":{"port":70000}}"#, 422, "probe.port"),
        ("POST", "/v1/topology", #"{"network":"10.0.0.0/33","site":"fra"}"#, 422, "network"),
        ("POST", "/v1/topology", #"{"network":"203.0.113.1/24","site":"fra"}"#, 422, "network"),
        ("POST", "/v1/topology", #"{"network":"10.0.0.0/8","region":"antarctica"}"#, 422, "region"),
        ("POST", "/v1/topology", #"{"network":"10.0.0.0/8","site":"mars"}"#, 422, "site"),
        ("POST", "/v1/overrides", #"{"scope":"site","target":"fra","state":"down","reason":"x","expires_at":"2020-01-01T00:00:00Z"}"#, 422, "expires_at"),
        ("POST", "/v1/overrides", #"{"scope":"site","target":"fra","state":"down","reason":"x"}"#, 422, "expires_at"),
        ("POST", "/v1/overrides", #"{"scope":"planet","target":"fra","state":"down","reason":"x","expires_in":"1h"}"#, 422, "scope"),
        ("POST", "/v1/overrides", #"{"scope":"site","target":"mars","state":"down","reason":"x","expires_in":"1h"}"#, 422, "target"),
        ("POST", "/v1/overrides", #"{"scope":"site","target":"fra","state":"sideways","reason":"x","expires_in":"1h"}"#, 422, "state"),
        ("POST", "/v1/overrides", #"{"scope":"site","target":"fra","state":"down","expires_in":"1h"}"#, 422, "reason"),
        ("POST", "/v1/overrides", #"{"scope":"site","target":"fra","state":"down","reason":"x","expires_in":"soon"}"#, 422, "expires_in"),
        ("POST", "/v1/overrides", #"{"scope":"member","target":"www.gslb.test./192.0.2.99","state":"down","reason":"x","permanent":true}"#, 422, "target"),
        ("POST", "/v1/monitors", #"{"name":"m","type":"smtp"}"#, 422, "type"),
        ("POST", "/v1/monitors", #"{"name":"m","type":"tcp","port":80,"interval":"1"}"#, 422, "interval"),
        ("POST", "/v1/monitors", #"{"name":"m","type":"tcp","port":80,"rise":0}"#, 422, "rise"),
        ("PUT", "/v1/sites/fra", #"{"name":"iad"}"#, 422, "name"),
        ("PUT", "/v1/pools/www.gslb.test.?type=A", #"{"type":"AAAA"}"#, 422, "type"),
        ("PUT", "/v1/pools/www.gslb.test.", #"{"ttl":60}"#, 400, "type"),
        ("PUT", "/v1/topology", #"{"topology":[{"network":"bad"}]}"#, 422, "topology[0].network"),
        ("GET", "/v1/audit?limit=0", nil, 400, "limit"),
        ("GET", "/v1/explain?name=www.gslb.test.&client=nonsense", nil, 400, "client"),
    ]

    @Test func invalidWritesGet4xxNamingTheFieldAndChangeNeitherStoreNorAnswers() throws {
        #expect(Self.invalid.count >= 40)
        let s = try Self.start()
        let before = try s.state()
        let answerBefore = try s.answer()
        let auditBefore = try s.audit().count
        for (method, path, body, status, field) in Self.invalid {
            let r = try s.call(method, path, token: s.admin, body: body)
            #expect(r.status == status, "\(method) \(path) \(body ?? ""): \(r.status) \(r.body)")
            #expect(r.field == field, "\(method) \(path) \(body ?? ""): \(r.body)")
            #expect(r.object["message"] is String && r.object["error"] is String, "\(r.body)")
        }
        // A stale If-Match, the wrong media type and an oversized body.
        let stale = try s.call("PUT", "/v1/sites/fra", token: s.admin, body: #"{"region":"x"}"#, headers: ["If-Match": "\"99\""])
        #expect(stale.status == 412 && stale.field == "If-Match" && stale.object["error"] as? String == "precondition-failed", "\(stale.body)")
        let media = try s.call("POST", "/v1/sites", token: s.admin, body: "name=x", contentType: "application/x-www-form-urlencoded")
        #expect(media.status == 415 && media.field == "Content-Type", "\(media.body)")
        let big = "{\"name\":\"" + String(repeating: "a", count: 1_100_000) + "\"}"
        let large = try s.call("POST", "/v1/sites", token: s.admin, body: big)
        #expect(large.status == 413, "\(large.status) \(large.body.prefix(200))")
        let inUse = try s.call("DELETE", "/v1/sites/fra", token: s.admin)
        #expect(inUse.status == 409, "\(inUse.body)")

        #expect(try s.state() == before)
        #expect(try s.answer() == answerBefore)
        #expect(try s.audit().count == auditBefore)
    }

    // MARK: - End to end

    @Test func aWriteOverHTTPIsInTheVeryNextDNSAnswer() throws {
        let s = try Self.start()
        // 203.0.113.0/24 is mapped to eu: the closest pool answers fra.
        #expect(try s.answer() == ["192.0.2.10"])
        let started = Date()
        let r = try s.call("POST", "/v1/overrides", token: s.write,
                           body: #"{"scope":"site","target":"fra","state":"down","reason":"maintenance","expires_in":"1h"}"#)
        #expect(r.status == 201, "\(r.body)")
        // The write is published before the response: the first query after it sees it.
        #expect(try s.answer() == ["198.51.100.10"])
        let ms = Date().timeIntervalSince(started) * 1000
        print("admin write to DNS answer: \(String(format: "%.1f", ms)) ms")

        let id = try #require(r.object["id"] as? Int)
        #expect(try s.call("DELETE", "/v1/overrides/\(id)", token: s.write).status == 204)
        #expect(try s.answer() == ["192.0.2.10"])

        // A member change: fra drained by its admin state.
        let put = try s.call("PUT", "/v1/pools/www.gslb.test./members/192.0.2.10?type=A", token: s.write,
                             body: #"{"state":"drain"}"#)
        #expect(put.status == 200, "\(put.body)")
        #expect(try s.answer() == ["198.51.100.10"])
        // ETag / If-Match: the version just returned works once, then is stale.
        let etag = try #require(put.headers["etag"])
        let again = try s.call("PUT", "/v1/pools/www.gslb.test./members/192.0.2.10?type=A", token: s.write,
                               body: #"{"state":"enabled"}"#, headers: ["If-Match": etag])
        #expect(again.status == 200, "\(again.body)")
        let stale = try s.call("PUT", "/v1/pools/www.gslb.test./members/192.0.2.10?type=A", token: s.write,
                               body: #"{"state":"drain"}"#, headers: ["If-Match": etag])
        #expect(stale.status == 412)
        #expect(try s.answer() == ["192.0.2.10"])

        // A pool PUT without `members` keeps the members as they are now, including the last member write.
        #expect(try s.call("PUT", "/v1/pools/www.gslb.test./members/192.0.2.10?type=A", token: s.write,
                           body: #"{"weight":7}"#).status == 200)
        func members(_ r: AdminHTTP.Reply) throws -> [String] {
            try #require(r.object["members"] as? [[String: Any]], "\(r.body)").map { "\($0["address"] ?? "")/\($0["weight"] ?? "")" }.sorted()
        }
        let before = try members(s.call("GET", "/v1/pools/www.gslb.test.?type=A", token: s.write))
        #expect(before.contains("192.0.2.10/7"), "\(before)")
        let ttl = try s.call("PUT", "/v1/pools/www.gslb.test.?type=A", token: s.write, body: #"{"ttl":60}"#)
        #expect(ttl.status == 200, "\(ttl.body)")
        #expect(try members(ttl) == before)
        #expect(ttl.object["ttl"] as? Int == 60, "\(ttl.body)")
        #expect(try s.answer() == ["192.0.2.10"])
    }

    @Test func anOverrideWithAnExpiryLiftsItselfOnTimeAndTheLiftIsAudited() throws {
        let s = try Self.start()
        let expiresAt = Date().addingTimeInterval(2)
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let r = try s.call("POST", "/v1/overrides", token: s.write,
                           body: "{\"scope\":\"site\",\"target\":\"fra\",\"state\":\"down\",\"reason\":\"drill\",\"expires_at\":\"\(f.string(from: expiresAt))\"}")
        #expect(r.status == 201, "\(r.body)")
        #expect(try s.answer() == ["198.51.100.10"])
        var lifted: Date?
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if try s.answer() == ["192.0.2.10"] { lifted = Date(); break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let at = try #require(lifted, "the override never lifted")
        #expect(at >= expiresAt.addingTimeInterval(-0.05), "lifted before its expiry")
        print("override lifted \(String(format: "%.0f", at.timeIntervalSince(expiresAt) * 1000)) ms after expires_at")
        // The lift is audited (within the reaper's period).
        var audited = false
        for _ in 0..<40 where !audited {
            audited = try s.audit().contains { ($0["action"] as? String) == "expire" && ($0["principal"] as? String) == "cairn" }
            if !audited { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(audited)
        #expect((try s.call("GET", "/v1/overrides", token: s.read).object["overrides"] as? [Any])?.isEmpty == true)
    }

    @Test func theAuditLogHasExactlyOneRowPerSuccessfulWriteAndPerFailedAuthentication() throws {
        let s = try Self.start()
        let before = try s.audit().count
        let writes: [(String, String, String?, Int)] = [
            ("POST", "/v1/sites", #"{"name":"ams","region":"eu"}"#, 201),
            ("PUT", "/v1/sites/ams", #"{"region":"us"}"#, 200),
            ("POST", "/v1/pools/www.gslb.test./members?type=A", #"{"site":"ams","address":"192.0.2.30"}"#, 201),
            ("DELETE", "/v1/pools/www.gslb.test./members/192.0.2.30?type=A", nil, 204),
            ("DELETE", "/v1/sites/ams", nil, 204),
            ("POST", "/v1/overrides", #"{"scope":"pool","target":"www.gslb.test","state":"drain","reason":"x","permanent":true}"#, 201),
            ("POST", "/v1/topology", #"{"network":"10.0.0.0/8","site":"fra"}"#, 201),
        ]
        for (method, path, body, status) in writes {
            let r = try s.call(method, path, token: s.write, body: body)
            #expect(r.status == status, "\(method) \(path): \(r.body)")
            #expect(r.headers["x-request-id"] != nil)
        }
        for i in 0..<3 { #expect(try s.call("GET", "/v1/sites", token: "nope\(i)").status == 401) }
        let rows = Array(try s.audit().dropFirst(before))
        #expect(rows.count == writes.count + 3, "\(rows.map { "\($0["action"] ?? "") \($0["object"] ?? "")" })")
        #expect(rows.map { $0["action"] as? String ?? "" } ==
                ["create", "update", "update", "update", "delete", "create", "create", "auth-failure", "auth-failure", "auth-failure"])
        // A member's change is one audit row: an update of its pool, with the members before and after.
        #expect(rows.map { $0["object"] as? String ?? "" }.prefix(5) ==
                ["site:ams", "site:ams", "pool:www.gslb.test./A", "pool:www.gslb.test./A", "site:ams"])
        #expect(rows.prefix(writes.count).allSatisfy { ($0["principal"] as? String)?.hasPrefix("token:") == true
            && ($0["source"] as? String) == "127.0.0.1" && $0["request_id"] is String })
        // Filter by object.
        let site = try s.call("GET", "/v1/audit?object=site:ams", token: s.read).object["entries"] as? [[String: Any]]
        #expect(site?.count == 3)
        let paged = try s.call("GET", "/v1/audit?limit=2&offset=1&object=site:ams", token: s.read).object["entries"] as? [[String: Any]]
        #expect(paged?.map { $0["action"] as? String ?? "" } == ["update", "delete"])
    }

    @Test func zonesReadinessAndReloadAnswerOverTheAPI() throws {
        let s = try Self.start()
        let ready = try s.call("GET", "/readyz")
        #expect(ready.status == 200, "\(ready.body)")
        let zones = try s.call("GET", "/v1/zones", token: s.read)
        #expect((zones.object["zones"] as? [[String: Any]])?.first?["origin"] as? String == "gslb.test.")
        // A broken zone file: the reload reports it and the last good version keeps serving.
        try "garbage here\n".write(toFile: s.env.zones + "/gslb.test.zone", atomically: true, encoding: .utf8)
        let reload = try s.call("POST", "/v1/zones/reload", token: s.write)
        #expect(reload.status == 200)
        let errors = reload.object["errors"] as? [String] ?? []
        #expect(errors.count == 1 && errors[0].contains("gslb.test.zone"), "\(reload.body)")
        #expect(try s.answer() == ["192.0.2.10"])
        let health = try s.call("GET", "/v1/health", token: s.read)
        let members = health.object["members"] as? [[String: Any]] ?? []
        #expect(members.count == 3)
        #expect(members.allSatisfy { $0["real"] is String && $0["effective"] is String && $0.keys.contains("forced") })
        let explain = try s.call("GET", "/v1/explain?name=www.gslb.test&client=203.0.113.9", token: s.read)
        #expect((explain.object["answer"] as? [String]) == ["192.0.2.10"], "\(explain.body)")
    }

    /// One casing for JSON keys in every document the API returns: snake_case (explain's five camelCase keys
    /// were the last exception, until 2026-12-05).
    @Test func everyJSONKeyTheAPIReturnsIsSnakeCase() throws {
        let s = try Self.start()
        defer { s.process.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        _ = try s.call("POST", "/v1/overrides", token: s.write,
                       body: #"{"scope":"site","target":"fra","state":"drain","reason":"x","expires_in":"1h"}"#)
        var bad: [String] = []
        func walk(_ v: Any, _ path: String) {
            if let o = v as? [String: Any] {
                for (k, x) in o {
                    if k.range(of: "^[a-z][a-z0-9_]*$", options: .regularExpression) == nil { bad.append("\(path).\(k)") }
                    // (answers by site are keyed by site names, audit rows carry stored objects: data, not keys)
                    if !["before", "during", "after", "sites_during"].contains(k) { walk(x, "\(path).\(k)") }
                }
            } else if let a = v as? [Any] {
                for x in a { walk(x, path + "[]") }
            }
        }
        for path in ["/v1/sites", "/v1/pools", "/v1/monitors", "/v1/topology", "/v1/overrides", "/v1/health",
                     "/v1/explain?name=www.gslb.test.&client=192.0.2.1", "/v1/explain?name=www.gslb.test.&ecs=192.0.2.0/24",
                     "/v1/audit", "/v1/zones", "/v1/nodes", "/readyz"] {
            let r = try s.call("GET", path, token: s.admin)
            #expect(r.status == 200, "\(path): \(r.status) \(r.body)")
            walk(r.json ?? [:], path)
        }
        #expect(bad.isEmpty, "keys that are not snake_case: \(bad)")
    }

    @Test func metricsCountQueriesAndAnswersByPoolAndSite() throws {
        let s = try Self.start()
        for _ in 0..<5 { _ = try s.answer() }
        // Workers add their counts when idle (within 0.5 s) or every 4096 queries.
        var r = try s.call("GET", "/metrics", token: s.read)
        var lines: [String] = []
        func value(_ prefix: String, _ contains: [String]) -> Double {
            lines.filter { $0.hasPrefix(prefix) && contains.allSatisfy($0.contains) }
                .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
        }
        for _ in 0..<50 {
            r = try s.call("GET", "/metrics", token: s.read)
            lines = r.body.split(separator: "\n").map(String.init)
            if value("cairn_pool_answers_total", ["pool=\"www.gslb.test.\""]) >= 5 { break }
            usleep(100_000)
        }
        #expect(r.status == 200)
        #expect(r.headers["content-type"]?.hasPrefix("text/plain") == true)
        #expect(value("cairn_dns_queries_total", ["transport=\"udp\""]) >= 5, "\(r.body.prefix(2000))")
        #expect(value("cairn_pool_answers_total", ["pool=\"www.gslb.test.\"", "site=\"fra\""]) >= 5)
        #expect(lines.contains { $0.hasPrefix("cairn_member_up{") && $0.contains("state=\"effective\"") })
        // Without a token: 401, like every endpoint but /healthz and /readyz.
        #expect(try s.call("GET", "/metrics").status == 401)
    }

    @Test func aNonLoopbackAPIWithoutTLSIsRefused() throws {
        let (rc, out) = try CairnProcess.run(["serve", "--zones", "zones", "--api", "192.0.2.1:9053"])
        #expect(rc != 0)
        #expect(out.contains("--api") && out.contains("TLS"), "\(out)")
    }

    @Test func theAPIServesOverTLSWithTheGivenCertificate() throws {
        let dir = try Paths.tempDir()
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let (orc, oout) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/openssl"), [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"])
        #expect(orc == 0, "\(oout)")
        let env = try GSLBTests.makeEnv()
        let p = try CairnProcess(["serve", "--zones", env.zones, "--dns", "127.0.0.1:0",
                                  "--api-tls-cert", cert, "--api-tls-key", key])
        #expect(p.stderr.value.contains("(https)"))
        let script = """
        import ssl, sys, urllib.request
        ctx = ssl.create_default_context(cafile=sys.argv[2])
        print(urllib.request.urlopen(f"https://127.0.0.1:{sys.argv[1]}/healthz", context=ctx, timeout=5).read().decode())
        """
        let (rc, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", script, "\(p.apiPort)", cert])
        #expect(rc == 0 && out.contains("\"ok\""), "\(out)")
        // Plain HTTP to the TLS port gets no HTTP answer.
        #expect((try? AdminHTTP.request("GET", port: p.apiPort, "/healthz", timeout: 3))?.status != 200)
    }
}
