import Foundation
import GSLBCore
import HealthService
import Synchronization
import Testing

/// The probe loop (plain TCP and HTTP probes on one epoll thread) against real loopback listeners.
@Suite struct ProbeLoopTests {
    var prober: MonitorProber { TestServers.monitorProber }
    /// `CAIRN_PROBE_ENGINE=nio` turns the loop off (the other prober tests then cover the SwiftNIO path).
    static let loopOff = getenv("CAIRN_PROBE_ENGINE").map { String(cString: $0) } == "nio"

    static func tcp(_ host: String, _ port: Int, timeoutMs: Int = 300) -> ProbeSpec {
        ProbeSpec(address: host, port: port, monitor: Monitor(name: "t", type: .tcp, timeoutMs: timeoutMs))
    }

    static func http(_ host: String, _ port: Int, timeoutMs: Int = 300) -> ProbeSpec {
        ProbeSpec(address: host, port: port, monitor: Monitor(name: "h", type: .http, timeoutMs: timeoutMs))
    }

    /// Starts every spec through the callback path at once and waits (bounded) for all verdicts.
    func startAll(_ specs: [ProbeSpec]) async throws -> [ProbeResult] {
        let results = Mutex<[Int: ProbeResult]>([:])
        for (i, s) in specs.enumerated() {
            let started = prober.start(s) { r in results.withLock { $0[i] = r } }
            #expect(started, "\(s)")
        }
        // Bounded by the wall clock, generously: a loaded CI box may run this late; timing is not what is tested.
        let deadline = Date().addingTimeInterval(60)
        while results.withLock({ $0.count }) < specs.count && Date() < deadline {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        let all = results.withLock { $0 }
        try #require(all.count == specs.count, "\(all.count) of \(specs.count) verdicts")
        return specs.indices.map { all[$0]! }
    }

    /// Four kinds of target on `host`: open (tcp, up), HTTP 200 (http, up), silent (http, timeout), closed
    /// (tcp, refused), each probe with `timeoutMs`; `check` expects each kind's own verdict.
    struct FourKinds {
        let open: RunningServer, web: RunningServer, silent: RunningServer, closed: Int
        let specs: [ProbeSpec]
        let timeoutMs: Int

        init(_ host: String, timeoutMs: Int) async throws {
            open = try await TestServers.tcp(host) { SilentHandler() }
            web = try await TestServers.tcp(host) { HTTPTestHandler(reply: .ok(), log: RequestLog()) }
            silent = try await TestServers.tcp(host) { SilentHandler() }
            closed = try await TestServers.closedPort(host)
            self.timeoutMs = timeoutMs
            specs = [ProbeLoopTests.tcp(host, open.port, timeoutMs: timeoutMs), ProbeLoopTests.http(host, web.port, timeoutMs: timeoutMs),
                     ProbeLoopTests.http(host, silent.port, timeoutMs: timeoutMs), ProbeLoopTests.tcp(host, closed, timeoutMs: timeoutMs)]
        }

        func close() { Task { try? await open.close(); try? await web.close(); try? await silent.close() } }

        func check(_ s: ProbeSpec, _ r: ProbeResult, _ context: String = "") {
            switch (s.monitor.type, s.port) {
            case (.tcp, open.port): #expect(r.ok && r.detail == "connected", "\(context)\(r)")
            case (.http, web.port): #expect(r.ok && r.detail == "HTTP 200", "\(context)\(r)")
            case (.http, silent.port):
                #expect(!r.ok && r.detail == "timeout after \(timeoutMs) ms waiting for the response", "\(context)\(r)")
                #expect(r.latency >= Double(timeoutMs - 10) / 1000, "\(context)\(r)")
            default: #expect(!r.ok && r.detail == "connect: connection refused", "\(context)\(r)")
            }
        }
    }

    @Test(.disabled(if: ProbeLoopTests.loopOff)) func manyProbesStartedAtOnceEachGetTheirOwnVerdictWithinTheTimeout() async throws {
        let kinds = try await FourKinds("127.0.0.28", timeoutMs: 300)
        defer { kinds.close() }
        let specs = Array(repeating: kinds.specs, count: 50).flatMap { $0 }
        let clock = ContinuousClock()
        let t0 = clock.now
        let results = try await startAll(specs)
        print("probe loop: \(specs.count) probes started at once, all verdicts after \(clock.now - t0)")
        for (s, r) in zip(specs, results) { kinds.check(s, r) }
    }

    @Test func otherTypesAndHostNamesAreNotStartedOnTheLoopButStillProbed() async throws {
        let web = try await TestServers.tcp("127.0.0.1") { HTTPTestHandler(reply: .ok(), log: RequestLog()) }
        defer { Task { try? await web.close() } }
        for type in [MonitorType.https, .dns, .command] {
            let s = ProbeSpec(address: "127.0.0.28", port: 1, monitor: Monitor(name: "x", type: type))
            #expect(!prober.start(s) { _ in Issue.record("called for \(type)") })
        }
        let named = ProbeSpec(address: "localhost", port: web.port, monitor: Monitor(name: "h", type: .http))
        #expect(!prober.start(named) { _ in Issue.record("called for a host name") })
        // probe() resolves the name on the SwiftNIO path instead.
        let r = await prober.probe(named)
        #expect(r.ok && r.detail == "HTTP 200", "\(r)")
    }

    @Test(.disabled(if: ProbeLoopTests.loopOff)) func badOptionsGiveTheirVerdictAtOnce() async throws {
        let s = ProbeSpec(address: "127.0.0.28", port: 1,
                          monitor: Monitor(name: "h", type: .http, options: ["expect_status": "nonsense"]))
        let results = try await startAll([s])
        #expect(!results[0].ok && results[0].detail == "bad expect_status \"nonsense\"", "\(results[0])")
    }


    /// Sockets are disconnected and reused by the next probes: whatever a socket saw last (connected and
    /// reset, refused, timed out mid-request, timed out connecting), the next probe on it gets its own,
    /// right verdict. Round after round of the four kinds, in a rotating order.
    @Test(.disabled(if: ProbeLoopTests.loopOff)) func reusedSocketsGiveEveryLaterProbeItsOwnVerdict() async throws {
        let kinds = try await FourKinds("127.0.0.30", timeoutMs: 200)
        defer { kinds.close() }
        for round in 0..<6 {
            let specs = (0..<40).map { kinds.specs[($0 + round) % kinds.specs.count] }
            let results = try await startAll(specs)
            for (s, r) in zip(specs, results) { kinds.check(s, r, "round \(round): ") }
        }
    }

    /// The loop finishes loopback handshakes inside `connect` (a second `connect` says established or refused);
    /// a handshake still on its way takes the epoll path. A listener whose accept queue is full drops SYNs, so
    /// its probes stay connecting until the timeout, while an open port on the same run is up at once.
    @Test(.disabled(if: ProbeLoopTests.loopOff)) func aHandshakeThatNeverCompletesTimesOutConnecting() async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.29")
        let bound = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        try #require(bound == 0 && listen(fd, 0) == 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = Int(UInt16(bigEndian: sa.sin_port))
        // Fill the accept queue (never accepted): four non-blocking connects, more than a backlog of 0 holds.
        var fillers: [Int32] = []
        defer { fillers.forEach { close($0) } }
        for _ in 0..<4 {
            let c = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            try #require(c >= 0)
            _ = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(c, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            fillers.append(c)
        }
        try await Task.sleep(nanoseconds: 100_000_000)
        let open = try await TestServers.tcp("127.0.0.29") { SilentHandler() }
        defer { Task { try? await open.close() } }
        let results = try await startAll([Self.tcp("127.0.0.29", port, timeoutMs: 300), Self.tcp("127.0.0.29", open.port, timeoutMs: 300)])
        #expect(!results[0].ok && results[0].detail == "timeout after 300 ms connecting", "\(results[0])")
        #expect(results[0].latency >= 0.29, "\(results[0])")
        #expect(results[1].ok && results[1].detail == "connected", "\(results[1])")
    }
    @Test(.disabled(if: ProbeLoopTests.loopOff)) func theLoopThreadRunsBelowTheProcessPriority() async throws {
        // Make sure the loop has started (first use starts it).
        let closed = try await TestServers.closedPort("127.0.0.28")
        _ = await prober.probe(Self.tcp("127.0.0.28", closed))
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        let probeThreads = tasks.filter { (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?.hasPrefix("cairn-probe") ?? false }
        #expect(probeThreads.count == 1, "\(probeThreads)")
        func nice(_ stat: String) -> Int? {
            // Field 19 of /proc/.../stat, counted after the ")" that ends the command name.
            guard let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 16 ? Int(fields[16]) : nil
        }
        let processNice = try #require(nice(try String(contentsOfFile: "/proc/self/stat", encoding: .utf8)))
        let threadNice = try #require(nice(try String(contentsOfFile: "/proc/self/task/\(probeThreads[0])/stat", encoding: .utf8)))
        #expect(threadNice == min(19, processNice + 2), "process \(processNice), probe thread \(threadNice)")
    }
}
