import GSLBCore
import HealthService
import NIOCore
import NIOPosix
import Testing

@Suite struct HTTPProberTests {
    var prober: HTTPProber { TestServers.httpProber }

    func serve(_ reply: HTTPReply, log: RequestLog = RequestLog(), host: String = "127.0.0.23") async throws -> RunningServer {
        try await TestServers.tcp(host) { HTTPTestHandler(reply: reply, log: log) }
    }

    func spec(_ port: Int, timeoutMs: Int = 500, options: [String: String] = [:]) -> ProbeSpec {
        ProbeSpec(address: "127.0.0.23", port: port,
                  monitor: Monitor(name: "web", type: .http, timeoutMs: timeoutMs, options: options), poolName: "web")
    }

    @Test func status200WithBodyOkIsUp() async throws {
        let server = try await serve(.ok())
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port, options: ["expect_body": "ok"]))
        #expect(r.ok, "\(r)")
        #expect(r.detail == "HTTP 200")
        #expect(r.load == nil)
    }

    @Test func status500IsDown() async throws {
        let server = try await serve(HTTPReply(status: 500, body: "oops"))
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port))
        #expect(!r.ok)
        #expect(r.detail == "HTTP 500", "\(r)")
    }

    @Test func backendThatHangsPastTheTimeoutIsDownWithinTheTimeout() async throws {
        let server = try await serve(.hang)
        defer { Task { try? await server.close() } }
        let clock = ContinuousClock()
        let t0 = clock.now
        let r = await prober.probe(spec(server.port, timeoutMs: 300))
        let elapsed = clock.now - t0
        #expect(!r.ok)
        #expect(r.detail == "timeout after 300 ms waiting for the response", "\(r)")
        #expect(r.latency >= 0.29 && r.latency <= 2.5, "\(r)")
        #expect(elapsed < .seconds(30), "\(elapsed)")
    }

    @Test func bodyWithoutTheExpectedTextIsDown() async throws {
        let server = try await serve(.ok("degraded"))
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port, options: ["expect_body": "ok"]))
        #expect(!r.ok)
        #expect(r.detail == "body does not contain \"ok\"", "\(r)")
    }

    @Test func customHostHeaderPathAndMethodReachTheServer() async throws {
        let log = RequestLog()
        let server = try await serve(.ok(), log: log)
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port, options: ["host": "www.example.com", "path": "/healthz", "method": "HEAD"]))
        #expect(r.ok, "\(r)")
        let request = try #require(log.all.first)
        #expect(request.hasPrefix("HEAD /healthz HTTP/1.1\r\n"), "\(request)")
        #expect(request.contains("\r\nHost: www.example.com\r\n"), "\(request)")
        #expect(request.contains("\r\nConnection: close\r\n"), "\(request)")
    }

    @Test func hostHeaderDefaultsToTheAddressAndPort() async throws {
        let log = RequestLog()
        let server = try await serve(.ok(), log: log)
        defer { Task { try? await server.close() } }
        _ = await prober.probe(spec(server.port))
        let request = try #require(log.all.first)
        #expect(request.hasPrefix("GET / HTTP/1.1\r\n"))
        #expect(request.contains("\r\nHost: 127.0.0.23:\(server.port)\r\n"), "\(request)")
    }

    @Test func loadHeaderIsParsed() async throws {
        let server = try await serve(.ok(headers: [("X-Load", " 0.42 ")]))
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port, options: ["load_header": "x-load"]))
        #expect(r.ok, "\(r)")
        #expect(r.load == 0.42)
        #expect(r.detail == "HTTP 200, load 0.42")
    }

    @Test func loadJSONFieldIsParsed() async throws {
        let server = try await serve(.ok(#"{"status": "ok", "load": 17, "nested": {"load": 99}}"#))
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port, options: ["load_json": "load", "expect_body": "ok"]))
        #expect(r.ok, "\(r)")
        #expect(r.load == 17)
    }

    @Test func missingLoadLeavesTheMemberUpAndSaysSo() async throws {
        let server = try await serve(.ok("not json"))
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port, options: ["load_header": "X-Load", "load_json": "load"]))
        #expect(r.ok, "\(r)")
        #expect(r.load == nil)
        #expect(r.detail.contains("no load header X-Load"), "\(r)")
    }

    @Test func expectStatusListIsHonoured() async throws {
        let noContent = try await serve(HTTPReply(status: 204))
        let redirect = try await serve(HTTPReply(status: 302, headers: [("Location", "/x")]))
        defer { Task { try? await noContent.close(); try? await redirect.close() } }
        let list = ["expect_status": "[200,204]"]
        let a = await prober.probe(spec(noContent.port, options: list))
        #expect(a.ok, "\(a)")
        let b = await prober.probe(spec(redirect.port, options: list))
        #expect(!b.ok)
        #expect(b.detail == "HTTP 302")
        // The default accepts any 2xx or 3xx.
        let c = await prober.probe(spec(redirect.port))
        #expect(c.ok, "\(c)")
    }

    @Test func chunkedBodyIsDecodedBeforeMatching() async throws {
        let server = try await serve(HTTPReply(status: 200, body: "all systems ok", chunked: true))
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port, options: ["expect_body": "systems ok"]))
        #expect(r.ok, "\(r)")
    }

    @Test func closedPortIsDownWithConnectionRefused() async throws {
        let port = try await TestServers.closedPort("127.0.0.23")
        let r = await prober.probe(spec(port))
        #expect(!r.ok)
        #expect(r.detail == "connect: connection refused", "\(r)")
    }

    @Test func backendThatComesBackIsUpAgain() async throws {
        let first = try await serve(HTTPReply(status: 503), host: "127.0.0.24")
        let port = first.port
        let down = await prober.probe(ProbeSpec(address: "127.0.0.24", port: port, monitor: spec(port).monitor))
        #expect(!down.ok)
        #expect(down.detail == "HTTP 503")
        try await first.close()
        let gone = await prober.probe(ProbeSpec(address: "127.0.0.24", port: port, monitor: spec(port).monitor))
        #expect(gone.detail == "connect: connection refused", "\(gone)")
        let back = try await TestServers.tcp("127.0.0.24", port: port) { HTTPTestHandler(reply: .ok(), log: RequestLog()) }
        defer { Task { try? await back.close() } }
        let up = await prober.probe(ProbeSpec(address: "127.0.0.24", port: port, monitor: spec(port).monitor))
        #expect(up.ok, "\(up)")
    }

    @Test func ipv6BackendGetsABracketedHostHeader() async throws {
        let log = RequestLog()
        let server = try await TestServers.tcp("::1") { HTTPTestHandler(reply: .ok(), log: log) }
        defer { Task { try? await server.close() } }
        let r = await prober.probe(ProbeSpec(address: "::1", port: server.port, monitor: Monitor(name: "web", type: .http)))
        #expect(r.ok, "\(r)")
        let request = try #require(log.all.first)
        #expect(request.contains("\r\nHost: [::1]:\(server.port)\r\n"), "\(request)")
    }
}
