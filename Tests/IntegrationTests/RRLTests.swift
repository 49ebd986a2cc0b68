import DNSWire
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Response rate limiting on the real server, with real UDP traffic from several loopback
/// sources: a source at 10 × the limit gets the limit answered (plus every 2nd limited response
/// slipped as TC), another network at a normal rate loses nothing; a valid server cookie and an
/// `--rrl-exempt` network are not limited; TCP never is.
@Suite(.serialized) struct RRLTests {
    static let zones = Paths.fixture("Tests/conformance/zones").path

    /// What one source sent and got back.
    struct Tally: CustomStringConvertible {
        var sent = 0, answered = 0, truncated = 0
        /// Seconds from its first query to its last.
        var span = 0.0
        var description: String { "sent \(sent), answered \(answered), truncated \(truncated) over \(String(format: "%.2f", span)) s" }
    }

    /// A source of queries: its address, its rate and its query (given the message ID).
    struct Source {
        let address: String
        let perSecond: Double
        let query: (UInt16) -> [UInt8]
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Sends from every source at its rate for `seconds` (bounded: at most rate × seconds queries
    /// each), reading replies as they come and for one more second after.
    static func load(port: Int, sources: [Source], seconds: Double) throws -> [Tally] {
        var fds: [Int32] = []
        defer { fds.forEach { close($0) } }
        for s in sources {
            let fd = try udpFrom(s.address, port: port)
            fds.append(fd)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var size: Int32 = 4 << 20
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var tallies = [Tally](repeating: Tally(), count: sources.count)
        let start = now()
        let end = start + seconds
        var next = [Double](repeating: start, count: sources.count)
        var first = [Double](repeating: 0, count: sources.count), last = first
        var buf = [UInt8](repeating: 0, count: 4096)
        var pfds = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while true {
            let t = now()
            if t >= end + 1 { break }
            for i in sources.indices {
                let limit = Int(sources[i].perSecond * seconds)
                while next[i] <= t && next[i] < end && tallies[i].sent < limit {
                    let q = sources[i].query(UInt16(truncatingIfNeeded: tallies[i].sent))
                    _ = q.withUnsafeBytes { send(fds[i], $0.baseAddress, $0.count, 0) }
                    if tallies[i].sent == 0 { first[i] = t }
                    last[i] = t
                    tallies[i].sent += 1
                    next[i] += 1 / sources[i].perSecond
                }
            }
            let wait = max(0, min(10, Int(((next.min() ?? t) - now()) * 1000)))
            _ = poll(&pfds, nfds_t(pfds.count), Int32(now() < end ? wait : 10))
            for i in sources.indices {
                while true {
                    let n = recv(fds[i], &buf, buf.count, 0)
                    guard n >= 12 else { break }
                    if buf[2] & 0x02 != 0 { tallies[i].truncated += 1 } else { tallies[i].answered += 1 }
                }
            }
        }
        for i in sources.indices { tallies[i].span = last[i] - first[i] }
        return tallies
    }

    static func query(_ name: String = "www.conf.example.", options: [(code: UInt16, data: [UInt8])] = []) -> (UInt16) -> [UInt8] {
        let n = try! DomainName(name)
        return { id in QueryBuilder.make(id: id, name: n, type: .a, edns: options.isEmpty ? nil : (1232, false), options: options) }
    }

    /// The value of a metrics sample (`name{labels}`), 0 when absent.
    static func sample(_ text: String, _ series: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }

    static func server(_ extra: [String]) throws -> (CairnProcess, String, String) {
        let db = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-rrl-\(UUID().uuidString).sqlite").path
        let token = try APIServer.token(scope: "read", db: db)
        let p = try CairnProcess(["serve", "--zones", zones, "--db", db, "--dns", "127.0.0.1:0"] + extra)
        return (p, token, db)
    }

    static func metrics(_ p: CairnProcess, _ token: String) throws -> String {
        try http("GET", p.apiBase + "/metrics", headers: ["Authorization": "Bearer \(token)"]).body
    }

    @Test func aSourceAt10TimesTheLimitGetsTheLimitAndAnotherNetworkLosesNothing() throws {
        let limit = 50.0, seconds = 3.0
        let (server, token, db) = try Self.server(["--rrl-ratelimit", "50", "--rrl-slip", "2"])
        defer { server.stop(); try? FileManager.default.removeItem(atPath: db) }
        let r = try Self.load(port: server.port, sources: [
            Source(address: "127.0.0.2", perSecond: 10 * limit, query: Self.query()),
            Source(address: "127.0.1.3", perSecond: 10, query: Self.query()),
        ], seconds: seconds)
        let (flood, normal) = (r[0], r[1])
        // One window (1 s) of responses at once, then the limit per second: limit × (span + 1), ±10 %.
        let expected = limit * (flood.span + 1)
        #expect(abs(Double(flood.answered) - expected) <= 0.1 * expected, "\(flood); expected \(expected) answered")
        #expect(flood.sent >= Int(9 * limit * seconds), "\(flood)")
        // Every 2nd limited response slipped (each worker counts its own: ± a few).
        let limited = flood.sent - flood.answered
        #expect(abs(Double(flood.truncated) - Double(limited) / 2) <= max(4, 0.05 * Double(limited)), "\(flood)")
        // The other network: every query answered in full.
        #expect(normal.answered == normal.sent && normal.truncated == 0, "\(normal)")
        // A limited client retries over TCP, never limited.
        let tcp = try DNSClient.tcp("www.conf.example.", .a, port: server.port, from: "127.0.0.2")
        #expect(tcp.rcode == .noError && !tcp.answer.isEmpty)

        // /metrics counts every limited response (workers flush within about a second).
        var text = ""
        for _ in 0..<30 {
            text = try Self.metrics(server, token)
            let drop = Self.sample(text, #"cairn_rrl_limited_total{action="drop",class="positive"}"#)
            let slip = Self.sample(text, #"cairn_rrl_limited_total{action="slip",class="positive"}"#)
            if Int(drop + slip) == limited && Int(slip) == flood.truncated { break }
            usleep(200_000)
        }
        #expect(Int(Self.sample(text, #"cairn_rrl_limited_total{action="slip",class="positive"}"#)) == flood.truncated, "\(text)")
        #expect(Int(Self.sample(text, #"cairn_rrl_limited_total{action="drop",class="positive"}"#)) == limited - flood.truncated)
        #expect(Self.sample(text, "cairn_rrl_table_size") == 1_000_000)
        print("RRL: limit \(Int(limit))/s for \(seconds) s: flood \(flood), normal \(normal)")
    }

    @Test func aValidServerCookieAndAnExemptNetworkAreNotLimited() throws {
        let limit = 50.0, seconds = 2.0
        let (server, token, db) = try Self.server(["--rrl-ratelimit", "50", "--rrl-exempt", "127.0.3.0/24"])
        defer { server.stop(); try? FileManager.default.removeItem(atPath: db) }
        // A client learns its server cookie from 127.0.2.2 (as `dig +cookie` does), then sends it back.
        let clientCookie: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        let fd = try Self.udpFrom("127.0.2.2", port: server.port)
        defer { close(fd) }
        let first = Self.query(options: [(10, clientCookie)])(1)
        _ = first.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buf, buf.count, 0)
        let reply = try Message(bytes: Array(buf[0..<max(0, n)]))
        let cookie = try #require(CookieTests.cookie(reply))
        #expect(cookie.count == 24)
        let r = try Self.load(port: server.port, sources: [
            Source(address: "127.0.2.2", perSecond: 10 * limit, query: Self.query(options: [(10, cookie)])),
            Source(address: "127.0.2.3", perSecond: 10 * limit, query: Self.query(options: [(10, clientCookie)])),
            Source(address: "127.0.3.2", perSecond: 10 * limit, query: Self.query()),
        ], seconds: seconds)
        #expect(r[0].answered == r[0].sent && r[0].truncated == 0, "valid cookie: \(r[0])")
        // Same /24 without the cookie: limited (one window, then the limit per second).
        #expect(Double(r[1].answered) <= 1.1 * limit * (r[1].span + 1) && r[1].truncated > 0, "no server cookie: \(r[1])")
        #expect(r[2].answered == r[2].sent && r[2].truncated == 0, "exempt network: \(r[2])")
        var text = ""
        for _ in 0..<30 {
            text = try Self.metrics(server, token)
            if Self.sample(text, #"cairn_rrl_exempt_total{reason="network"}"#) > 0 && Self.sample(text, #"cairn_rrl_exempt_total{reason="cookie"}"#) > 0 { break }
            usleep(200_000)
        }
        #expect(Self.sample(text, #"cairn_rrl_exempt_total{reason="cookie"}"#) > 0, "\(text)")
        #expect(Self.sample(text, #"cairn_rrl_exempt_total{reason="network"}"#) > 0)
    }

    @Test func offWithRatelimitZeroAndBadFlagsAreRefused() throws {
        let (server, token, db) = try Self.server(["--rrl-ratelimit", "0"])
        defer { server.stop(); try? FileManager.default.removeItem(atPath: db) }
        let r = try Self.load(port: server.port, sources: [Source(address: "127.0.0.2", perSecond: 500, query: Self.query())], seconds: 1)
        #expect(r[0].answered == r[0].sent && r[0].truncated == 0, "\(r[0])")
        #expect(!(try Self.metrics(server, token)).contains("cairn_rrl_"))
        for bad in [["--rrl-exempt", "127.0.0.1/8"], ["--rrl-slip", "1001"], ["--rrl-ipv6-prefix", "129"], ["--rrl-whitelist", "nope"],
                    ["--rrl-table-size", "0"], ["--rrl-window", "0"]] {
            let (rc, out) = try CairnProcess.run(["serve", "--zones", Self.zones, "--api", ""] + bad)
            #expect(rc != 0 && out.contains(bad[0]), "\(bad): \(out)")
        }
    }

    static func udpFrom(_ source: String, port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        DNSClient.setTimeout(fd, 2)
        guard DNSClient.connect(fd, port: port, from: source) else { close(fd); throw ClientError.connect }
        return fd
    }
}
