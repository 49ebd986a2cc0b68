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

        // Without a token: 401 in the documented error shape.
        let anon = try server.call("GET", "/openapi.json")
        #expect(anon.status == 401)
        #expect(anon.errorCode == "unauthorized")
        #expect(anon.object.keys.sorted() == ["error", "field", "message"])
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
                                            "generation", "source", "since"]

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
