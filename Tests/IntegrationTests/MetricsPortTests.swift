import DNSWire
import Foundation
import Testing

/// `--metrics HOST:PORT`: `/metrics` without a token on its own listener, and nothing else there.
@Suite struct MetricsPortTests {
    static func metricsPort(in log: String) -> Int? {
        guard let r = log.range(of: #"cairn: listening metrics 127\.0\.0\.1:[0-9]+"#, options: .regularExpression) else { return nil }
        return Int(log[r].split(separator: ":").last!)
    }

    /// A server with `--metrics 127.0.0.1:0`, and the port it printed.
    static func startWithMetrics() throws -> (CairnProcess, Int) {
        let server = try CairnProcess(["serve", "--zones", Paths.fixture("zones").path, "--dns", "127.0.0.1:0",
                                       "--metrics", "127.0.0.1:0"])
        var port: Int?
        let deadline = Date().addingTimeInterval(10)
        while port == nil && Date() < deadline {
            port = Self.metricsPort(in: server.stderr.value)
            if port == nil { usleep(20_000) }
        }
        guard let port else { server.stop(); throw CairnProcessError.didNotListen(server.stderr.value) }
        return (server, port)
    }

    @Test func metricsAreServedWithoutATokenOnTheMetricsPortAndNothingElseIs() throws {
        let (server, p) = try Self.startWithMetrics()
        defer { server.stop() }
        // (CairnProcess gives every server a new store file: serve says it creates it, with its absolute path)
        #expect(server.stderr.value.contains("creating a new, empty store at /"), "\(server.stderr.value)")
        _ = try DNSClient.udp("www.example.com.", .a, port: server.port)
        // (the DNS workers publish their counts every so often: wait for the query to show)
        var r = try AdminHTTP.request("GET", port: p, "/metrics")
        let until = Date().addingTimeInterval(5)
        while !r.body.contains("cairn_dns_queries_total{") && Date() < until {
            usleep(100_000)
            r = try AdminHTTP.request("GET", port: p, "/metrics")
        }
        #expect(r.status == 200)
        #expect(r.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true, "\(r.headers)")
        #expect(r.body.contains("cairn_build_info{version=\""))
        #expect(r.body.contains("cairn_dns_queries_total{transport=\"udp\",type=\"A\","), "\(r.body.prefix(2000))")
        #expect(try AdminHTTP.request("HEAD", port: p, "/metrics").status == 200)
        // nothing of the admin API there, token or not
        #expect(try AdminHTTP.request("GET", port: p, "/v1/sites").status == 404)
        #expect(try AdminHTTP.request("GET", port: p, "/healthz").status == 404)
        #expect(try AdminHTTP.request("POST", port: p, "/metrics", body: "").status == 405)
        // the admin API's /metrics still needs a token
        #expect(try AdminHTTP.request("GET", port: server.apiPort, "/metrics").status == 401)
    }

    @Test func aBadMetricsAddressIsRefusedNamingTheFlag() throws {
        let (status, out) = try CairnProcess.run(["serve", "--zones", Paths.fixture("zones").path, "--dns", "127.0.0.1:0",
                                                  "--metrics", "nonsense"])
        #expect(status != 0)
        #expect(out.contains("--metrics"), "\(out)")
    }

    /// `cairn --version` and `cairn_build_info` name the same version and the git commit the binary was built
    /// from (baked in by Plugins/BuildCommit; the tests run in a checkout).
    @Test func versionFlagPrintsTheVersionAndCommitTheMetricsReport() throws {
        let (rc, out) = try CairnProcess.run(["--version"])
        #expect(rc == 0)
        let line = out.trimmingCharacters(in: .whitespacesAndNewlines)
        let (gitStatus, head) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/git"),
                                                              ["-C", Paths.packageRoot.path, "rev-parse", "--short=12", "HEAD"])
        try #require(gitStatus == 0, "not a git checkout: \(head)")
        let commit = head.trimmingCharacters(in: .whitespacesAndNewlines)
        let match = try #require(line.wholeMatch(of: /cairn (\S+) \(commit ([0-9a-f]{12}(?:-dirty)?)\)/), "\(line)")
        let (version, built) = (String(match.1), String(match.2))
        #expect(built.hasPrefix(commit), "built from \(built), the checkout is at \(commit)")
        let (server, port) = try Self.startWithMetrics()
        defer { server.stop() }
        let body = try AdminHTTP.request("GET", port: port, "/metrics").body
        #expect(body.contains("cairn_build_info{version=\"\(version)\",commit=\"\(built)\"} 1"), "\(line)")
    }
}
