import DNSWire
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real backend process on a loopback address.
final class Backend {
    let process = Process()
    let address: String
    let port: Int

    init(_ address: String, _ port: Int, mode: String, tls: (cert: String, key: String)? = nil) throws {
        self.address = address
        self.port = port
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Paths.fixture("Tests/IntegrationTests/Support/backend.py").path, address, String(port), mode]
            + (tls.map { [$0.cert, $0.key] } ?? [])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for "ready".
        let h = out.fileHandleForReading
        let deadline = Date().addingTimeInterval(10)
        var text = ""
        while !text.contains("ready") && Date() < deadline {
            text += String(decoding: h.availableData, as: UTF8.self)
        }
    }

    /// SIGKILL: the test runner may spawn children with SIGTERM blocked.
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    deinit { kill() }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = DNSClient.sockaddr4(0)
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: a.sin_port))
    }
}

/// Health monitoring end to end: real listeners on 127.0.0.x, real probes,
/// answers checked over real DNS after each change.
@Suite(.serialized) struct HealthTests {
    static func answers(_ port: Int, _ name: String = "www.gslb.test.") throws -> [String] {
        try DNSClient.udp(name, .a, port: port).answer.map { RDataText.format(type: .a, rdata: $0.rdata) }.sorted()
    }

    /// Polls until the answer equals `want` or `seconds` pass.
    static func waitFor(_ want: [String], port: Int, name: String = "www.gslb.test.", seconds: Double = 8) throws -> [String] {
        let deadline = Date().addingTimeInterval(seconds)
        var got: [String] = []
        while Date() < deadline {
            got = try answers(port, name)
            if got == want { return got }
            usleep(50_000)
        }
        return got
    }

    static func setup(_ yaml: String) throws -> (GSLBTests.Env, CairnProcess) {
        let env = try GSLBTests.makeEnv()
        let f = try env.file("gslb.yaml", yaml)
        let (rc, out) = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        guard rc == 0 else { throw CairnProcessError.didNotListen(out) }
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0"])
        return (env, server)
    }

    static func pool(monitor: String, members: [(String, Int)]) -> String {
        """
        sites:
          - {name: a, region: eu}
        monitors:
          - \(monitor)
        pools:
          - name: www.gslb.test.
            policy: all-healthy
            answers: 8
            fallback: none
            monitor: m
            members:
        \(members.map { "      - {site: a, address: \($0.0), probe: {port: \($0.1)}}" }.joined(separator: "\n"))
        """
    }

    @Test func httpProbesMoveAnswersOnFailureTimeoutClosedPortAndRecovery() throws {
        let p = Backend.freePort()
        let ok1 = try Backend("127.0.0.31", p, mode: "ok")
        let fail = try Backend("127.0.0.32", p, mode: "fail")
        let hang = try Backend("127.0.0.33", p, mode: "hang")
        _ = (fail, hang)
        // 127.0.0.34: nothing listens (connection refused).
        let (env, server) = try Self.setup(Self.pool(
            monitor: "{name: m, type: http, port: \(p), path: /healthz, host: www.gslb.test, expect_status: [200], expect_body: ok, interval: 200ms, timeout: 150ms, rise: 2, fall: 2}",
            members: [("127.0.0.31", p), ("127.0.0.32", p), ("127.0.0.33", p), ("127.0.0.34", p)]))
        defer { try? FileManager.default.removeItem(at: env.dir) }
        #expect(try Self.waitFor(["127.0.0.31"], port: server.port) == ["127.0.0.31"])
        // The good one dies: nothing healthy, fallback none → NODATA.
        ok1.kill()
        #expect(try Self.waitFor([], port: server.port) == [])
        // It comes back.
        let again = try Backend("127.0.0.31", p, mode: "ok")
        _ = again
        #expect(try Self.waitFor(["127.0.0.31"], port: server.port) == ["127.0.0.31"])
        // The transitions are logged with real state.
        #expect(server.stderr.value.contains("real state up → down"))
    }

    @Test func tcpProbesSeeOpenAndClosedPorts() throws {
        let p = Backend.freePort()
        let b1 = try Backend("127.0.0.41", p, mode: "tcp")
        let b2 = try Backend("127.0.0.42", p, mode: "tcp")
        let (env, server) = try Self.setup(Self.pool(
            monitor: "{name: m, type: tcp, port: \(p), interval: 200ms, timeout: 150ms, rise: 2, fall: 2}",
            members: [("127.0.0.41", p), ("127.0.0.42", p), ("127.0.0.43", p)]))
        defer { try? FileManager.default.removeItem(at: env.dir) }
        #expect(try Self.waitFor(["127.0.0.41", "127.0.0.42"], port: server.port) == ["127.0.0.41", "127.0.0.42"])
        b2.kill()
        #expect(try Self.waitFor(["127.0.0.41"], port: server.port) == ["127.0.0.41"])
        _ = b1
    }

    @Test func httpsProbesVerifyOrSkipTheCertificateAsConfigured() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("c.pem").path, key = dir.appendingPathComponent("k.pem").path
        let o = Process()
        o.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        o.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1", "-keyout", key, "-out", cert]
        o.standardOutput = FileHandle.nullDevice
        o.standardError = FileHandle.nullDevice
        try o.run()
        o.waitUntilExit()
        let p = Backend.freePort()
        let b = try Backend("127.0.0.51", p, mode: "ok", tls: (cert, key))
        _ = b
        let yaml = """
        sites:
          - {name: a}
        monitors:
          - {name: noverify, type: https, port: \(p), path: /, verify_tls: false, interval: 200ms, timeout: 150ms, rise: 1, fall: 1}
          - {name: verify, type: https, port: \(p), path: /, verify_tls: true, interval: 200ms, timeout: 150ms, rise: 1, fall: 1}
        pools:
          - {name: www.gslb.test., policy: all-healthy, fallback: none, monitor: noverify, members: [{site: a, address: 127.0.0.51}]}
          - {name: strict.gslb.test., policy: all-healthy, fallback: none, monitor: verify, members: [{site: a, address: 127.0.0.51}]}
        """
        let (env, server) = try Self.setup(yaml)
        defer { try? FileManager.default.removeItem(at: env.dir) }
        #expect(try Self.waitFor(["127.0.0.51"], port: server.port) == ["127.0.0.51"])
        // Self-signed with verification on: down (after at most a few rounds).
        usleep(800_000)
        #expect(try Self.answers(server.port, "strict.gslb.test.") == [])
    }

    @Test func dnsAndCommandProbesDecideToo() throws {
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        // A second Cairn is the DNS target: it answers ns.gslb.test. with NOERROR.
        let target = try CairnProcess(["serve", "--zones", env.zones, "--db", env.dir.appendingPathComponent("t.sqlite").path,
                                       "--dns", "127.0.0.1:0"])
        let flag = env.dir.appendingPathComponent("up-127.0.0.62").path
        FileManager.default.createFile(atPath: flag, contents: Data())
        let yaml = """
        sites:
          - {name: a}
        monitors:
          - {name: d, type: dns, port: \(target.port), query: {name: ns.gslb.test., type: A}, expect_rcode: NOERROR, expect_address: 192.0.2.53, interval: 200ms, timeout: 150ms, rise: 1, fall: 1}
          - {name: d2, type: dns, port: \(target.port), query: {name: nothere.gslb.test., type: A}, expect_rcode: NOERROR, interval: 200ms, timeout: 150ms, rise: 1, fall: 1}
          - {name: c, type: command, command: ["/bin/sh", "-c", "test -f \(env.dir.path)/up-{address}"], interval: 200ms, timeout: 150ms, rise: 1, fall: 1}
        pools:
          - {name: www.gslb.test., policy: all-healthy, answers: 8, fallback: none, monitor: d, members: [{site: a, address: 127.0.0.1}]}
          - {name: nx.gslb.test., policy: all-healthy, fallback: none, monitor: d2, members: [{site: a, address: 127.0.0.1}]}
          - {name: cmd.gslb.test., policy: all-healthy, answers: 8, fallback: none, monitor: c, members: [{site: a, address: 127.0.0.61}, {site: a, address: 127.0.0.62}]}
        """
        let f = try env.file("gslb.yaml", yaml)
        let (rc, out) = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        #expect(rc == 0, "\(out)")
        // Command monitors run only when the operator allows them at start (docs/security.md).
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0", "--allow-command-monitors"])
        #expect(try Self.waitFor(["127.0.0.1"], port: server.port) == ["127.0.0.1"])
        #expect(try Self.waitFor(["127.0.0.62"], port: server.port, name: "cmd.gslb.test.") == ["127.0.0.62"])
        #expect(try Self.waitFor([], port: server.port, name: "nx.gslb.test.") == [])    // NXDOMAIN is not NOERROR: down
        try FileManager.default.removeItem(atPath: flag)
        #expect(try Self.waitFor([], port: server.port, name: "cmd.gslb.test.") == [])
        target.stop()
        #expect(try Self.waitFor([], port: server.port) == [])
    }

    /// `{pool}` in a command monitor's argv is the pool's name (docs/config-file.md), so a member in two pools
    /// under one such monitor is probed once per pool and can be up in one and down in the other. It used to
    /// be replaced by an empty string, with one shared probe for both pools.
    @Test func aCommandMonitorsPoolPlaceholderIsThePoolsName() throws {
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let dir = env.dir.path
        let yaml = """
        sites:
          - {name: a}
        monitors:
          - {name: c, type: command, command: ["/bin/sh", "-c", "echo '{pool} {address}' >> \(dir)/argv; test -f \(dir)/up-{pool}"], interval: 200ms, timeout: 150ms, rise: 1, fall: 1}
        pools:
          - {name: one.gslb.test., policy: all-healthy, fallback: none, monitor: c, members: [{site: a, address: 127.0.0.63}]}
          - {name: two.gslb.test., policy: all-healthy, fallback: none, monitor: c, members: [{site: a, address: 127.0.0.63}]}
        """
        let f = try env.file("gslb.yaml", yaml)
        let (rc, out) = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        #expect(rc == 0, "\(out)")
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0", "--allow-command-monitors"])
        // No flag file yet: down in both pools.
        #expect(try Self.waitFor([], port: server.port, name: "one.gslb.test.") == [])
        #expect(try Self.waitFor([], port: server.port, name: "two.gslb.test.") == [])
        // The flag of pool one only: up there, still down in pool two.
        FileManager.default.createFile(atPath: "\(dir)/up-one.gslb.test.", contents: Data())
        #expect(try Self.waitFor(["127.0.0.63"], port: server.port, name: "one.gslb.test.") == ["127.0.0.63"])
        #expect(try Self.answers(server.port, "two.gslb.test.") == [])
        let lines = Set((try String(contentsOfFile: "\(dir)/argv", encoding: .utf8)).split(separator: "\n").map(String.init))
        #expect(lines == ["one.gslb.test. 127.0.0.63", "two.gslb.test. 127.0.0.63"])
    }

    @Test func theLastKnownStateServesStaleUntilTheFirstRoundEnds() throws {
        let p = Backend.freePort()
        let b = try Backend("127.0.0.71", p, mode: "ok")
        _ = b
        let yaml = Self.pool(monitor: "{name: m, type: http, port: \(p), path: /, interval: 200ms, timeout: 150ms, rise: 1, fall: 1}",
                             members: [("127.0.0.71", p), ("127.0.0.72", p)])
        let (env, server) = try Self.setup(yaml)
        defer { try? FileManager.default.removeItem(at: env.dir) }
        #expect(try Self.waitFor(["127.0.0.71"], port: server.port) == ["127.0.0.71"])
        usleep(300_000)
        server.stop()
        // Restarted: the stored states (71 up, 72 down) answer from the first query on.
        let again = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0"])
        #expect(try Self.answers(again.port) == ["127.0.0.71"])
    }

    /// A least-loaded pool of two members at sites of equal capacity, their load read from `X-Load`.
    static func leastLoaded(port p: Int, _ a: String, _ b: String) -> String {
        """
        sites:
          - {name: a, capacity: 100}
          - {name: b, capacity: 100}
        monitors:
          - {name: m, type: http, port: \(p), path: /, load_header: X-Load, interval: 200ms, timeout: 150ms, rise: 1, fall: 1}
        pools:
          - name: www.gslb.test.
            policy: least-loaded
            monitor: m
            members:
              - {site: a, address: \(a)}
              - {site: b, address: \(b)}
        """
    }

    @Test func loadReportedByProbesDrivesLeastLoaded() throws {
        let p = Backend.freePort()
        let busy = try Backend("127.0.0.91", p, mode: "ok=80")
        let idle = try Backend("127.0.0.92", p, mode: "ok=20")
        _ = (busy, idle)
        let (env, server) = try Self.setup(Self.leastLoaded(port: p, "127.0.0.91", "127.0.0.92"))
        defer { try? FileManager.default.removeItem(at: env.dir) }
        #expect(try Self.waitFor(["127.0.0.92"], port: server.port) == ["127.0.0.92"])
        // The idle one gets busy: the answer moves.
        idle.kill()
        let idle2 = try Backend("127.0.0.92", p, mode: "ok=95")
        _ = idle2
        #expect(try Self.waitFor(["127.0.0.91"], port: server.port) == ["127.0.0.91"])
    }

    /// A target that stays up but reports a load that is not a number has an unknown load: it stops winning
    /// least-loaded on its last number (it used to keep it), the log warns, and `cairn health` says why.
    @Test func aLoadThatIsNotANumberMakesTheLoadUnknown() throws {
        let p = Backend.freePort()
        let busy = try Backend("127.0.0.93", p, mode: "ok=80")
        let idle = try Backend("127.0.0.94", p, mode: "ok=20")
        _ = busy
        let (env, server) = try Self.setup(Self.leastLoaded(port: p, "127.0.0.93", "127.0.0.94"))
        defer { try? FileManager.default.removeItem(at: env.dir) }
        #expect(try Self.waitFor(["127.0.0.94"], port: server.port) == ["127.0.0.94"])
        idle.kill()
        let garbled = try Backend("127.0.0.94", p, mode: "ok=high")
        _ = garbled
        #expect(try Self.waitFor(["127.0.0.93"], port: server.port) == ["127.0.0.93"])
        let deadline = Date().addingTimeInterval(5)
        while !server.stderr.value.contains("load unknown: load header X-Load is not a number") && Date() < deadline { usleep(50_000) }
        #expect(server.stderr.value.contains("load unknown: load header X-Load is not a number: \"high\""), "\(server.stderr.value.suffix(2000))")
        let (_, created) = try CairnProcess.run(["token", "create", "--scope", "read", "--db", env.db])
        let token = try #require(created.split(separator: "\n").last.map(String.init))
        let tokenFile = try env.file("read.token", token)
        let (_, health) = try CairnProcess.run(["health", "--api", server.apiBase, "--token-file", tokenFile])
        let row = health.split(separator: "\n").first { $0.contains("127.0.0.94") }.map(String.init) ?? ""
        #expect(row.contains("ok (load unknown: load header X-Load is not a number"), "\(health)")
    }
}
