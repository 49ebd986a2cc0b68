import Foundation
import Testing

/// docs/openapi.yaml against the real server: GET /openapi.json serves exactly that document,
/// and schemathesis (installed by scripts/setup-deps) finds no server error and no response
/// that the document does not describe, on a server with examples/gslb.yaml applied.
@Suite(.serialized) struct APIDocTests {
    static let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

    /// The schemathesis of scripts/setup-deps: $CAIRN_SCHEMATHESIS, the tools virtualenv, or PATH.
    static var schemathesis: String? {
        let env = ProcessInfo.processInfo.environment
        if let p = env["CAIRN_SCHEMATHESIS"] { return p }
        let venv = env["CAIRN_TOOLS_VENV"] ?? (NSHomeDirectory() + "/.cache/cairn-tools/venv")
        let candidates = [venv + "/bin/schemathesis"]
            + (env["PATH"] ?? "").split(separator: ":").map { "\($0)/schemathesis" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func tail(_ text: String, lines: Int = 80) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    @Test func servedDocumentIsDocsOpenAPIYAML() throws {
        let server = try APIServer.start()
        defer { server.stop() }
        let token = try server.token(scope: "read", name: "apidoc-read")
        let r = try server.call("GET", "/openapi.json", token: token)
        #expect(r.status == 200)
        #expect(r.headers["content-type"]?.hasPrefix("application/json") == true)

        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let served = dir.appendingPathComponent("served.json")
        try r.body.write(to: served, atomically: true, encoding: .utf8)
        // Both parsed, then compared in one canonical form (sorted keys).
        let script = """
        import json, sys, yaml
        a = json.dumps(yaml.safe_load(open(sys.argv[1], encoding="utf-8")), sort_keys=True)
        b = json.dumps(json.load(open(sys.argv[2], encoding="utf-8")), sort_keys=True)
        if a != b:
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            print("differ at", i, "yaml:", a[max(0, i - 80):i + 80], "served:", b[max(0, i - 80):i + 80])
            sys.exit(1)
        print("same", len(a))
        """
        let (rc, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
                                                      [Self.python, "-c", script, Paths.fixture("docs/openapi.yaml").path, served.path])
        #expect(rc == 0, "GET /openapi.json is not docs/openapi.yaml (run scripts/gen-openapi): \(out)")

        // Without a token too: the contract is public (a client generator needs it first).
        let anon = try server.call("GET", "/openapi.json")
        #expect(anon.status == 200)
        #expect(anon.body == r.body)
    }

    @Test func schemathesisFindsNoServerErrorAndNoUndocumentedResponse() throws {
        guard let st = Self.schemathesis else {
            Issue.record("schemathesis is not installed: run scripts/setup-deps")
            return
        }
        let server = try APIServer.start()
        defer { server.stop() }
        let token = try server.token(scope: "admin", name: "apidoc-schemathesis")
        // A monitor, so that GET /v1/monitors has options to check too.
        let m = try server.call("POST", "/v1/monitors", token: token,
                                body: #"{"name": "web", "type": "http", "port": 80, "path": "/healthz", "expect_status": [200, 204]}"#)
        #expect(m.status == 201, "\(m)")
        let h = try server.call("POST", "/v1/monitors", token: token,
                                body: #"{"name": "tls", "type": "https", "port": 443, "verify_tls": true, "expect_status": 200, "host": "www.example.com"}"#)
        #expect(h.status == 201, "\(h)")
        // A finished 1 s drill, so that GET /v1/drills has a row with measurements to check.
        let d = try server.call("POST", "/v1/drills", token: token, body: #"{"member": "api.example.com/192.0.2.102", "hold": "1s"}"#)
        #expect(d.status == 201, "\(d)")
        if let id = d.object["id"] as? String { _ = try Self.waitForDrill(server, token, id) }
        let o = try server.call("POST", "/v1/overrides", token: token,
                                body: #"{"scope": "member", "target": "api.example.com/192.0.2.102", "state": "drain", "reason": "apidoc", "expires_in": "1h"}"#)
        #expect(o.status == 201, "\(o)")

        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = [
            "run", server.baseURL + "/openapi.json",
            "--url", server.baseURL,
            "-H", "Authorization: Bearer \(token)",
            "--checks", "not_a_server_error,response_schema_conformance",
            "--max-examples", "10",
            "--seed", "20260101",
            "--phases", "examples,coverage,fuzzing",
            "--workers", "1",
            "--request-timeout", "10",
            // Revoking tokens by id could revoke the token of the run itself.
            "--exclude-operation-id", "deleteToken",
            // A valid body starts a real drill (holds up to 24 h) that fails sites and pools
            // under the run; drillResponsesMatchTheDocument checks these two directly.
            "--exclude-operation-id", "startDrill",
            "--exclude-operation-id", "abortDrill",
            "--suppress-health-check", "all",
            "--no-shrink",
        ]
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        env["SCHEMATHESIS_HOOKS"] = nil
        let started = Date()
        let (rc, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: st), args, cwd: dir, env: env)
        let secs = Int(Date().timeIntervalSince(started))
        #expect(rc == 0, "schemathesis exit \(rc) after \(secs) s; its output ends with:\n\(Self.tail(out))")
        // The server is still up after the run.
        #expect(try server.call("GET", "/healthz").status == 200)
        #expect(server.process.process.isRunning, "the server died: \(Self.tail(server.process.stderr.value, lines: 30))")
    }

    // MARK: - Drills

    /// GET /v1/drills/{id} until the drill has ended (`ended_at`), at most `timeout` seconds: the report.
    static func waitForDrill(_ server: APIServer, _ token: String, _ id: String, timeout: Double = 30) throws -> HTTPResult {
        let deadline = Date().addingTimeInterval(timeout)
        var r = try server.call("GET", "/v1/drills/\(id)", token: token)
        while r.status == 200 && r.object["ended_at"] == nil && Date() < deadline {
            usleep(100_000)
            r = try server.call("GET", "/v1/drills/\(id)", token: token)
        }
        return r
    }

    /// One response to check against docs/openapi.yaml: the operation, the status and the body.
    struct Exchange {
        let method: String
        let path: String
        let result: HTTPResult
    }

    /// Checks each response against the document: the status and the content type are
    /// documented for the operation, and a JSON body validates against its schema (with
    /// jsonschema_rs, which schemathesis brings into its virtualenv). Returns the problems.
    static func validate(_ exchanges: [Exchange]) throws -> String {
        guard let st = schemathesis else { return "schemathesis is not installed: run scripts/setup-deps" }
        let python = URL(fileURLWithPath: st).deletingLastPathComponent().appendingPathComponent("python").path
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rows: [[String: Any]] = exchanges.map {
            ["method": $0.method.lowercased(), "path": $0.path, "status": String($0.result.status),
             "content_type": $0.result.headers["content-type"] ?? "", "body": $0.result.body]
        }
        let input = dir.appendingPathComponent("exchanges.json")
        try JSONSerialization.data(withJSONObject: rows).write(to: input)
        let script = """
        import json, sys, yaml, jsonschema_rs
        doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
        def deref(o):
            while isinstance(o, dict) and "$ref" in o:
                x = doc
                for part in o["$ref"][2:].split("/"):
                    x = x[part]
                o = x
            return o
        problems = []
        for ex in json.load(open(sys.argv[2], encoding="utf-8")):
            where = f"{ex['method'].upper()} {ex['path']} {ex['status']}"
            op = doc["paths"].get(ex["path"], {}).get(ex["method"])
            if op is None:
                problems.append(f"{where}: no such operation"); continue
            resp = op["responses"].get(ex["status"])
            if resp is None:
                problems.append(f"{where}: status not documented: {ex['body'][:300]}"); continue
            resp = deref(resp)
            media = ex["content_type"].split(";")[0].strip()
            content = resp.get("content", {})
            if media not in content:
                problems.append(f"{where}: content type {media!r} not documented ({sorted(content)})"); continue
            if media != "application/json":
                continue
            try:
                body = json.loads(ex["body"])
            except ValueError as e:
                problems.append(f"{where}: not JSON: {e}"); continue
            schema = dict(content[media]["schema"]); schema["components"] = doc["components"]
            errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in jsonschema_rs.validator_for(schema).iter_errors(body)]
            if errors:
                problems.append(f"{where}: " + "; ".join(errors[:5]) + f" in {ex['body'][:300]}")
        print("\\n".join(problems))
        print(f"checked {len(json.load(open(sys.argv[2])))} responses, {len(problems)} problem(s)")
        sys.exit(1 if problems else 0)
        """
        let (rc, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: python),
                                                      ["-c", script, Paths.fixture("docs/openapi.yaml").path, input.path])
        return rc == 0 ? "" : out
    }

    /// The drill routes, which schemathesis leaves out (POST would start real drills): short
    /// drills and their errors, each response checked against docs/openapi.yaml.
    @Test func drillResponsesMatchTheDocument() throws {
        let server = try APIServer.start()
        defer { server.stop() }
        let token = try server.token(scope: "admin", name: "apidoc-drills")
        var log: [Exchange] = []
        @discardableResult
        func call(_ method: String, _ path: String, _ template: String, body: String? = nil) throws -> HTTPResult {
            let r = try server.call(method, path, token: token, body: body)
            log.append(Exchange(method: method, path: template, result: r))
            return r
        }
        let member = "api.example.com/192.0.2.102"

        // Plans.
        let plan = try call("GET", "/v1/drills/plan?member=\(member)", "/v1/drills/plan")
        #expect(plan.status == 200, "\(plan)")
        #expect(plan.object["safe"] as? Bool == true)
        #expect(try call("GET", "/v1/drills/plan?site=fra", "/v1/drills/plan").status == 200)
        #expect(try call("GET", "/v1/drills/plan?pool=api.example.com", "/v1/drills/plan").object["safe"] as? Bool == false)
        #expect(try call("GET", "/v1/drills/plan", "/v1/drills/plan").status == 422)
        #expect(try call("GET", "/v1/drills/plan?site=fra&pool=api.example.com", "/v1/drills/plan").status == 422)
        #expect(try call("GET", "/v1/drills/plan?site=nowhere", "/v1/drills/plan").status == 422)

        // Refused before anything starts.
        for body in [#"{"member": "\#(member)"}"#, #"{"member": "\#(member)", "hold": "25h"}"#,
                     #"{"member": "\#(member)", "hold": "1s", "mode": "chaos"}"#, #"{"hold": "1s"}"#,
                     #"{"member": "\#(member)", "hold": "1s", "force": "yes"}"#, #"{"member": "\#(member)", "hold": "1s", "colour": "red"}"#,
                     #"{"member": "\#(member)", "hold": "1s", "at": "2001-01-01T00:00:00Z"}"#] {
            let r = try call("POST", "/v1/drills", "/v1/drills", body: body)
            #expect(r.status == 422 && r.errorCode == "invalid", "\(body): \(r)")
        }
        let unsafe = try call("POST", "/v1/drills", "/v1/drills", body: #"{"pool": "api.example.com", "hold": "1s"}"#)
        #expect(unsafe.status == 409 && unsafe.errorCode == "unsafe", "\(unsafe)")

        // A 1 s override drill, and a second one on the same member while it runs.
        let started = try call("POST", "/v1/drills", "/v1/drills", body: #"{"member": "\#(member)", "hold": "1s"}"#)
        #expect(started.status == 201, "\(started)")
        #expect(started.object["status"] as? String == "running")
        let id = started.object["id"] as? String ?? "-"
        let busy = try call("POST", "/v1/drills", "/v1/drills", body: #"{"member": "\#(member)", "hold": "1s"}"#)
        #expect(busy.status == 409 && busy.errorCode == "conflict", "\(busy)")
        let done = try waitForDrillLogged(id)
        #expect(done.object["status"] as? String == "completed", "\(done)")
        #expect(done.object["measurements"] != nil)
        #expect((done.object["verdict"] as? [String: Any])?["result"] as? String == "pass", "\(done)")

        // Reports, the list, unknown ids, abort of an ended drill.
        let md = try call("GET", "/v1/drills/\(id)/report", "/v1/drills/{id}/report")
        #expect(md.status == 200 && md.headers["content-type"]?.hasPrefix("text/markdown") == true && md.body.hasPrefix("# Failover drill \(id)"))
        let text = try call("GET", "/v1/drills/\(id)/report?format=text", "/v1/drills/{id}/report")
        #expect(text.status == 200 && text.headers["content-type"]?.hasPrefix("text/plain") == true && text.body.hasPrefix("drill \(id)"))
        #expect(try call("GET", "/v1/drills/\(id)/report?format=pdf", "/v1/drills/{id}/report").status == 400)
        #expect(try call("GET", "/v1/drills/d-none/report", "/v1/drills/{id}/report").status == 404)
        #expect(try call("GET", "/v1/drills/d-none", "/v1/drills/{id}").status == 404)
        let list = try call("GET", "/v1/drills", "/v1/drills")
        #expect((list.object["drills"] as? [Any])?.count == 3, "two refused and one completed: \(list)")
        let again = try call("POST", "/v1/drills/\(id)/abort", "/v1/drills/{id}/abort")
        #expect(again.status == 409 && again.errorCode == "conflict", "\(again)")
        #expect(try call("POST", "/v1/drills/d-none/abort", "/v1/drills/{id}/abort").status == 404)

        // A scheduled drill, aborted before it starts; a running one aborted at once.
        let at = Date().addingTimeInterval(3600)
        let f = ISO8601DateFormatter()
        let scheduled = try call("POST", "/v1/drills", "/v1/drills", body: #"{"site": "sin", "hold": "1s", "at": "\#(f.string(from: at))"}"#)
        #expect(scheduled.status == 201 && scheduled.object["status"] as? String == "scheduled", "\(scheduled)")
        let aborted = try call("POST", "/v1/drills/\(scheduled.object["id"] as? String ?? "-")/abort", "/v1/drills/{id}/abort")
        #expect(aborted.status == 200 && aborted.object["status"] as? String == "aborted", "\(aborted)")
        let long = try call("POST", "/v1/drills", "/v1/drills", body: #"{"site": "sin", "hold": "30s"}"#)
        #expect(long.status == 201, "\(long)")
        let longID = long.object["id"] as? String ?? "-"
        let stop = try call("POST", "/v1/drills/\(longID)/abort", "/v1/drills/{id}/abort")
        #expect(stop.status == 200 && ["restoring", "aborted"].contains(stop.object["status"] as? String ?? ""), "\(stop)")
        let ended = try waitForDrillLogged(longID, timeout: 15)
        #expect(ended.object["status"] as? String == "aborted", "\(ended)")
        // Nothing of the drills is left in force.
        #expect(try server.call("GET", "/v1/overrides", token: token).object["overrides"] as? [Any] != nil)
        #expect((try server.call("GET", "/v1/overrides", token: token).object["overrides"] as? [Any])?.isEmpty == true)
        log.append(Exchange(method: "GET", path: "/v1/drills", result: try server.call("GET", "/v1/drills", token: token)))

        let problems = try Self.validate(log)
        #expect(problems.isEmpty, "responses that docs/openapi.yaml does not describe:\n\(problems)")

        func waitForDrillLogged(_ id: String, timeout: Double = 30) throws -> HTTPResult {
            let r = try Self.waitForDrill(server, token, id, timeout: timeout)
            log.append(Exchange(method: "GET", path: "/v1/drills/{id}", result: r))
            return r
        }
    }

    // MARK: - docs/api.md

    struct Example {
        let line: Int
        let command: String
        let expected: [String]
    }

    /// The `$ command` lines of docs/api.md's ```console blocks, each with the lines after it.
    static func examples() throws -> [Example] {
        let text = try String(contentsOf: Paths.fixture("docs/api.md"), encoding: .utf8)
        var out: [Example] = []
        var inBlock = false
        var current: (line: Int, command: String, output: [String])?
        func flush() {
            if let c = current { out.append(Example(line: c.line, command: c.command, expected: c.output)) }
            current = nil
        }
        for (i, raw) in text.components(separatedBy: "\n").enumerated() {
            if !inBlock {
                if raw.trimmingCharacters(in: .whitespaces) == "```console" { inBlock = true }
                continue
            }
            if raw.hasPrefix("```") { flush(); inBlock = false; continue }
            if raw.hasPrefix("$ ") { flush(); current = (i + 1, String(raw.dropFirst(2)), []) } else { current?.output.append(raw) }
        }
        flush()
        return out
    }

    /// Keys whose values change from run to run: only their presence is compared.
    static let volatileKeys: Set<String> = ["id", "version", "time", "created_at", "expires_at", "last_used_at", "token",
                                            "generation", "source", "since",
                                            // drills: times and measured durations
                                            "started_at", "ended_at", "time_to_failover", "time_to_failback", "measured",
                                            "client_perceived"]

    /// True when `actual` has what `expected` shows (volatile keys: present with any value).
    static func matches(_ expected: Any, _ actual: Any) -> Bool {
        switch (expected, actual) {
        case (let e as [String: Any], let a as [String: Any]):
            guard Set(e.keys) == Set(a.keys) else { return false }
            return e.allSatisfy { k, v in volatileKeys.contains(k) || matches(v, a[k]!) }
        case (let e as [Any], let a as [Any]):
            return e.count == a.count && zip(e, a).allSatisfy { matches($0, $1) }
        default:
            return (expected as? NSObject)?.isEqual(actual as? NSObject) ?? false
        }
    }

    static func parse(_ line: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
    }

    /// Every ```console example of docs/api.md, in page order, on one server with
    /// examples/gslb.yaml applied: its output is what the page shows.
    @Test func docsAPIMarkdownExamples() throws {
        let examples = try Self.examples()
        #expect(examples.count >= 20)
        let server = try APIServer.start()
        defer { server.stop() }
        var env = ProcessInfo.processInfo.environment
        env["CAIRN_API"] = server.baseURL
        env["TOKEN"] = try server.token(scope: "admin", name: "docs-admin")
        env["READ_TOKEN"] = try server.token(scope: "read", name: "docs-read")
        for ex in examples {
            let (_, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/bin/bash"), ["-c", ex.command], env: env)
            var got = out.components(separatedBy: "\n")
            if got.last == "" { got.removeLast() }
            var ok = got.count == ex.expected.count
            if ok {
                for (e, a) in zip(ex.expected, got) where e != a {
                    guard let ej = Self.parse(e), let aj = Self.parse(a), Self.matches(ej, aj) else { ok = false; break }
                }
            }
            #expect(ok, "docs/api.md:\(ex.line): \(ex.command)\nexpected:\n\(ex.expected.joined(separator: "\n"))\ngot:\n\(got.joined(separator: "\n"))")
        }
    }
}
