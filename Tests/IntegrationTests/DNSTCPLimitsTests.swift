import DNSWire
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// DNS over TCP has backpressure: a client that pipelines queries and never reads its
/// answers makes the server stop reading (answers pending past the write-buffer high
/// water mark, or too many queries in flight), not queue answers without bound; and
/// the write timeout closes the connection once its answers make no progress.
@Suite(.serialized) struct DNSTCPLimitsTests {
    static let zones = Paths.fixture("Tests/conformance/zones").path

    /// The server's resident memory, from /proc/PID/status.
    static func rssKiB(_ pid: Int32) -> Int? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        }
        return nil
    }

    /// A TCP client with a 4 KiB receive buffer that writes pipelined queries for a
    /// ~5 KB answer each (huge.conf.example. TXT) as fast as the server takes them, and
    /// never reads.
    final class Flooder {
        let fd: Int32
        private(set) var bytesSent = 0
        /// Set once the server closed or reset the connection.
        private(set) var closedAt: Date?
        let batch: [UInt8]
        /// POLLRDHUP (the peer closed), from <poll.h> under _GNU_SOURCE, which Swift does not see.
        static let pollRDHUP: Int16 = 0x2000

        init(port: Int) throws {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var small: Int32 = 4096   // before connect: the window the server sees stays small
            setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            var addr = DNSClient.sockaddr4(port)
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { close(s); throw ClientError.connect }
            _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)
            fd = s
            var b: [UInt8] = []
            let name = try DomainName("huge.conf.example.")
            for i in 0..<1000 { b += DNSClient.framed(QueryBuilder.make(id: UInt16(i), name: name, type: .txt)) }
            batch = b
        }

        /// Writes what the socket takes now (bounded: one batch); notes a close.
        func pump() {
            guard closedAt == nil else { return }
            var p = pollfd(fd: fd, events: Int16(POLLOUT) | Self.pollRDHUP, revents: 0)
            _ = poll(&p, 1, 0)
            if p.revents & (Int16(POLLERR) | Int16(POLLHUP) | Self.pollRDHUP) != 0 {
                closedAt = Date()
                return
            }
            var off = bytesSent % batch.count
            var tries = 0
            while tries < 64 {
                tries += 1
                let n = batch.withUnsafeBytes { send(fd, $0.baseAddress! + off, batch.count - off, Int32(MSG_NOSIGNAL)) }
                if n > 0 {
                    bytesSent += n
                    off = (off + n) % batch.count
                    continue
                }
                if n < 0 && (errno == EPIPE || errno == ECONNRESET) { closedAt = Date() }
                return
            }
        }

        deinit { close(fd) }
    }

    /// Four clients pipeline for 5 s without reading. Before backpressure the server's
    /// RSS grew by hundreds of MiB in that time; now it stays within a few MiB, and a
    /// normal client is answered meanwhile.
    @Test func clientsThatNeverReadDoNotGrowTheServer() throws {
        let server = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--udp-workers", "1",
                                       "--tcp-write-timeout", "30", "--tcp-idle-timeout", "30"])
        let pid = server.process.processIdentifier
        // Warm up (snapshot, first TCP scratch) before the baseline.
        _ = try DNSClient.tcp("huge.conf.example.", .txt, port: server.port)
        let before = try #require(Self.rssKiB(pid))
        let flooders = try (0..<4).map { _ in try Flooder(port: server.port) }
        let start = Date()
        var answered = 0, asked = 0, maxRSS = before
        var nextProbe = start.addingTimeInterval(0.5)
        while Date().timeIntervalSince(start) < 5 {
            for f in flooders { f.pump() }
            if Date() >= nextProbe {
                // A normal client meanwhile: a new connection, one query, its answer.
                asked += 1
                if (try? DNSClient.tcp("www.conf.example.", .a, port: server.port))?.rcode == .noError { answered += 1 }
                nextProbe = Date().addingTimeInterval(1)
            }
            maxRSS = max(maxRSS, Self.rssKiB(pid) ?? 0)
            usleep(1000)
        }
        let grewMiB = Double(maxRSS - before) / 1024
        let sentMiB = Double(flooders.map(\.bytesSent).reduce(0, +)) / 1_048_576
        print("DNSTCPLimitsTests: RSS \(before / 1024) → \(maxRSS / 1024) MiB (+\(String(format: "%.1f", grewMiB))) with \(String(format: "%.1f", sentMiB)) MiB of queries sent")
        #expect(grewMiB < 50, "server RSS grew by \(grewMiB) MiB")
        #expect(asked >= 3 && answered == asked, "a normal TCP client was answered \(answered) of \(asked) times")
        #expect(flooders.allSatisfy { $0.closedAt == nil }, "a flooder was closed before the 30 s write timeout")
        // Still up, and answering over TCP.
        #expect(try DNSClient.tcp("www.conf.example.", .a, port: server.port).rcode == .noError)
    }

    /// A client that never reads is closed by the write timeout (2 s here), though it
    /// keeps sending queries (which used to reset the idle timer forever).
    @Test func aClientThatNeverReadsIsClosedByTheWriteTimeout() throws {
        let server = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--udp-workers", "1",
                                       "--tcp-write-timeout", "2", "--tcp-idle-timeout", "30"])
        let f = try Flooder(port: server.port)
        let start = Date()
        while f.closedAt == nil && Date().timeIntervalSince(start) < 15 {
            f.pump()
            usleep(2000)
        }
        let closedAfter = f.closedAt.map { $0.timeIntervalSince(start) }
        print("DNSTCPLimitsTests: flooder closed after \(closedAfter.map { String(format: "%.1f s", $0) } ?? "never (15 s)")")
        let after = try #require(closedAfter, "the connection was still open after 15 s")
        #expect(after >= 1.5 && after < 8, "closed after \(after) s")
        #expect(try DNSClient.tcp("www.conf.example.", .a, port: server.port).rcode == .noError)
    }

    /// The idle timeout is about a client that sends nothing: one that sends a query,
    /// reads its answer and stays silent is closed after it.
    @Test func aSilentClientIsClosedByTheIdleTimeout() throws {
        let server = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--udp-workers", "1",
                                       "--tcp-idle-timeout", "1"])
        let fd = try DNSClient.tcpConnect(port: server.port)
        defer { close(fd) }
        DNSClient.tcpSend(fd, DNSClient.framed(QueryBuilder.make(id: 9, name: try DomainName("www.conf.example."), type: .a)))
        #expect(DNSClient.tcpReadMessage(fd) != nil)
        let start = Date()
        #expect(DNSClient.peerClosed(fd, within: 5))
        #expect(Date().timeIntervalSince(start) < 4)
    }

    /// Connection exhaustion (issue 14 item 5): one address opens the connection cap + 100
    /// connections and trickles a byte a second into each (never a whole query). Clients from
    /// other addresses are still answered over TCP within 1 s, and a client's idle connection
    /// opened before the attack is still open after it: the attacker's connections displace
    /// only each other (`--tcp-max-connections-per-address`).
    @Test func oneAddressTricklingIntoCapPlus100ConnectionsLocksNobodyElseOut() throws {
        let cap = 40, perAddress = 10
        let server = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--udp-workers", "1",
                                       "--tcp-max-connections", "\(cap)", "--tcp-max-connections-per-address", "\(perAddress)",
                                       "--tcp-idle-timeout", "20"])
        // A resolver's connection from 127.0.0.2, used once, then idle (the longest-idle one on the server).
        let resolver = try DNSClient.tcpConnect(port: server.port, timeout: 2, from: "127.0.0.2")
        defer { close(resolver) }
        let query = DNSClient.framed(QueryBuilder.make(id: 7, name: try DomainName("www.conf.example."), type: .a))
        DNSClient.tcpSend(resolver, query)
        #expect(DNSClient.tcpReadMessage(resolver) != nil)

        // The attacker: cap + 100 connections from 127.0.0.1, each sent one byte a second.
        var attackers: [Int32] = []
        defer { attackers.forEach { close($0) } }
        for _ in 0..<(cap + 100) {
            guard let fd = try? DNSClient.tcpConnect(port: server.port, timeout: 2, from: "127.0.0.1") else { continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            attackers.append(fd)
        }
        #expect(attackers.count == cap + 100, "the kernel refused some attacker connections: \(attackers.count)")
        var slowest = 0.0, asked = 0, answered = 0
        let start = Date()
        var second = 0
        while Date().timeIntervalSince(start) < 4 {
            for fd in attackers { var b: UInt8 = 0; _ = send(fd, &b, 1, Int32(MSG_NOSIGNAL)) }
            // Another client, from another address: a new connection, one query.
            asked += 1
            let t0 = Date()
            if (try? DNSClient.tcp("www.conf.example.", .a, port: server.port, from: "127.0.0.3"))?.rcode == .noError {
                answered += 1
                slowest = max(slowest, Date().timeIntervalSince(t0))
            }
            second += 1
            let next = start.addingTimeInterval(Double(second))
            if next > Date() { usleep(UInt32(next.timeIntervalSinceNow * 1e6)) }
        }
        print("DNSTCPLimitsTests: other clients answered \(answered) of \(asked), slowest \(String(format: "%.3f", slowest)) s")
        #expect(asked >= 4 && answered == asked, "a client from another address was answered \(answered) of \(asked) times")
        #expect(slowest < 1, "slowest answer to another client: \(slowest) s")

        // The resolver's idle connection survived the attack and still answers.
        DNSClient.tcpSend(resolver, query)
        #expect(DNSClient.tcpReadMessage(resolver) != nil, "the idle connection from 127.0.0.2 was closed by the attack")

        // The attacker holds at most its per-address share.
        usleep(200_000)
        let open = attackers.filter { fd in
            var p = pollfd(fd: fd, events: Int16(POLLIN) | Flooder.pollRDHUP, revents: 0)
            _ = poll(&p, 1, 0)
            return p.revents & (Int16(POLLERR) | Int16(POLLHUP) | Flooder.pollRDHUP) == 0
        }.count
        #expect(open <= perAddress, "the attacker still has \(open) connections open")
    }
}
