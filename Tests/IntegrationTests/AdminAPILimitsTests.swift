import DNSWire
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The admin API's connection limits (docs/security.md, "Admin API connections"): a slow or
/// silent client cannot hold descriptors past the header, idle and TLS-handshake deadlines, nor
/// more connections than the per-address and total caps; `/healthz` and DNS over TCP keep
/// answering meanwhile. Against the real `cairn serve`, over real loopback sockets (every
/// 127.0.0.0/8 address is loopback on Linux: a second client address is a `bind` away).
@Suite(.serialized) struct AdminAPILimitsTests {
    /// A request head without its final blank line: the server waits for the rest.
    static let partialHead = Array("GET /healthz HTTP/1.1\r\nHost: x\r\n".utf8)

    init() { SlowClient.raiseDescriptorLimit() }

    @Test func fifteenHundredSlowHeadsFromOneAddressLeaveHealthzAndDNSAnswering() throws {
        let server = try APIServer.start()
        defer { server.stop() }
        let pid = server.process.process.processIdentifier
        let port = try #require(Int(server.baseURL.split(separator: ":").last ?? ""))
        let baseline = SlowClient.descriptors(of: pid)

        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        let started = Date()
        for _ in 0..<1500 where Date().timeIntervalSince(started) < 15 {
            guard let fd = SlowClient.connect(port: port, from: "127.0.0.1") else { continue }
            SlowClient.send(fd, Self.partialHead)
            fds.append(fd)
        }
        #expect(fds.count == 1500, "connected \(fds.count) of 1500 in \(Date().timeIntervalSince(started)) s")
        usleep(500_000)

        // A client at another address gets /healthz at once, and DNS over TCP answers.
        let (status, seconds) = SlowClient.healthz(port: port, from: "127.0.0.2")
        #expect(status == 200 && seconds < 1, "/healthz from 127.0.0.2: \(status.map(String.init) ?? "no answer") in \(seconds) s")
        let soa = try DNSClient.tcp("example.com.", .soa, port: server.dnsPort)
        #expect(soa.rcode == .noError && !soa.answer.isEmpty)

        // The slow address holds at most its cap (64 by default); the rest were closed at once,
        // and the server's descriptors grew by no more than that.
        let held = fds.filter(SlowClient.isOpen).count
        let grown = SlowClient.descriptors(of: pid) - baseline
        #expect(held <= 64, "127.0.0.1 holds \(held) of \(fds.count) slow connections")
        #expect(grown <= 64 + 16, "the server's descriptors grew by \(grown) (baseline \(baseline))")
    }

    @Test func aConnectionWithoutACompleteHeadIsClosedAfterTheHeaderTimeout() throws {
        let server = try APIServer.start(extraArgs: ["--api-header-timeout", "1s", "--api-idle-timeout", "2s"])
        defer { server.stop() }
        let port = try #require(Int(server.baseURL.split(separator: ":").last ?? ""))

        // A partial head and then nothing: closed about 1 s after connecting.
        var t0 = Date()
        let silent = try #require(SlowClient.connect(port: port, from: "127.0.0.1"))
        defer { close(silent) }
        SlowClient.send(silent, Self.partialHead)
        let closedAfter = SlowClient.secondsUntilClosed(silent, within: 6)
        #expect(closedAfter.map { $0 >= 0.9 && $0 <= 2 } == true,
                "partial head closed after \(closedAfter.map { "\($0)" } ?? "never (6 s)") (header timeout 1 s)")

        // A head sent one byte every 200 ms: the deadline is for the whole head, activity does not move it.
        t0 = Date()
        let drip = try #require(SlowClient.connect(port: port, from: "127.0.0.1"))
        defer { close(drip) }
        var sentBytes = 0
        while Date().timeIntervalSince(t0) < 6 && SlowClient.isOpen(drip) {
            SlowClient.send(drip, [Self.partialHead[sentBytes % Self.partialHead.count]])
            sentBytes += 1
            usleep(200_000)
        }
        let dripLasted = Date().timeIntervalSince(t0)
        #expect(dripLasted <= 2.2, "a head dripped byte by byte was open for \(dripLasted) s (\(sentBytes) bytes)")

        // After a complete request, a kept-alive connection waits for the next request's first byte
        // for the idle timeout (2 s), not the header timeout.
        let keep = try #require(SlowClient.connect(port: port, from: "127.0.0.1"))
        defer { close(keep) }
        SlowClient.send(keep, Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let reply = SlowClient.readResponseHead(keep)
        #expect(reply?.hasPrefix("HTTP/1.1 200") == true, "\(reply ?? "no reply")")
        let idleClosedAfter = SlowClient.secondsUntilClosed(keep, within: 6)
        #expect(idleClosedAfter.map { $0 >= 1.7 && $0 <= 3 } == true,
                "idle keep-alive connection closed after \(idleClosedAfter.map { "\($0)" } ?? "never (6 s)") (idle timeout 2 s)")
    }

    @Test func aTLSHandshakeThatNeverCompletesIsClosedAfterItsTimeout() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let (orc, oout) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/openssl"), [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", cert, "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"])
        try #require(orc == 0, "\(oout)")
        // The header timeout (10 s) would close it too: the handshake's own deadline is shorter.
        let server = try APIServer.start(extraArgs: ["--api-tls-cert", cert, "--api-tls-key", key,
                                                     "--api-tls-handshake-timeout", "1s"])
        defer { server.stop() }
        let port = try #require(Int(server.baseURL.split(separator: ":").last ?? ""))
        let fd = try #require(SlowClient.connect(port: port, from: "127.0.0.1"))
        defer { close(fd) }
        SlowClient.send(fd, [0x16, 0x03, 0x01])   // the first bytes of a TLS record, and no more
        let closedAfter = SlowClient.secondsUntilClosed(fd, within: 6)
        #expect(closedAfter.map { $0 >= 0.9 && $0 <= 2 } == true,
                "unfinished handshake closed after \(closedAfter.map { "\($0)" } ?? "never (6 s)") (handshake timeout 1 s)")
    }

    @Test func theCapsRefuseConnectionsPastThemAndBoundTheServersDescriptors() throws {
        let server = try APIServer.start(extraArgs: ["--api-max-connections", "40", "--api-max-connections-per-address", "10"])
        defer { server.stop() }
        let pid = server.process.process.processIdentifier
        let port = try #require(Int(server.baseURL.split(separator: ":").last ?? ""))
        let baseline = SlowClient.descriptors(of: pid)
        var all: [Int32] = []
        defer { for fd in all { close(fd) } }

        // One address: 10 are kept, the other 20 closed at once (which ten is up to the event loops: the
        // accepted connections are set up on several, in parallel).
        var first: [Int32] = []
        for _ in 0..<30 {
            guard let fd = SlowClient.connect(port: port, from: "127.0.0.1") else { continue }
            SlowClient.send(fd, Self.partialHead)
            first.append(fd)
        }
        all += first
        usleep(300_000)
        let keptFirst = first.map(SlowClient.isOpen)
        #expect(keptFirst.filter { $0 }.count == 10, "127.0.0.1 holds \(keptFirst.filter { $0 }.count) of 30 (cap 10)")

        // Six more addresses, ten each: 70 wanted, the total cap is 40.
        for a in 3...8 {
            for _ in 0..<10 {
                guard let fd = SlowClient.connect(port: port, from: "127.0.0.\(a)") else { continue }
                SlowClient.send(fd, Self.partialHead)
                all.append(fd)
            }
        }
        usleep(300_000)
        let held = all.filter(SlowClient.isOpen).count
        let grown = SlowClient.descriptors(of: pid) - baseline
        #expect(held <= 40, "\(held) slow connections held (total cap 40)")
        #expect(grown <= 40 + 8, "the server's descriptors grew by \(grown) (baseline \(baseline))")

        // The slots are full of connections that never finished their head: a new client still gets in.
        let (status, seconds) = SlowClient.healthz(port: port, from: "127.0.0.2")
        #expect(status == 200 && seconds < 1, "/healthz from 127.0.0.2: \(status.map(String.init) ?? "no answer") in \(seconds) s")
    }

    @Test func underALowDescriptorLimitTheAPICapIsLoweredAndTheStartSaysSo() throws {
        // 3,000 descriptors: 513 are kept for DNS over TCP, 2,048 for probes, 256 for the rest: 183 for the API.
        let db = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-\(UUID().uuidString).sqlite").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -n 3000 && exec \"$0\" \"$@\"", Paths.cairnBinary.path, "serve",
                       "--zones", Paths.fixture("zones").path, "--db", db, "--dns", "127.0.0.1:0", "--api", "127.0.0.1:0"]
        let log = OutputLog()
        let pipe = Pipe()
        p.standardError = pipe
        p.standardOutput = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            if !d.isEmpty { log.append(String(decoding: d, as: UTF8.self)) }
        }
        try p.run()
        defer {
            p.terminate()
            p.waitUntilExit()
            pipe.fileHandleForReading.readabilityHandler = nil
        }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && p.isRunning && !log.value.contains("cairn: listening api") { usleep(20_000) }
        #expect(log.value.contains("--api-max-connections 1024 lowered to 183"), "\(log.value)")
    }

    @Test func aTimeoutFlagWithoutAUnitIsRefused() throws {
        let (rc, out) = try CairnProcess.run(["serve", "--zones", "zones", "--api-header-timeout", "10"])
        #expect(rc != 0 && out.contains("--api-header-timeout"), "\(out)")
        let (rc2, out2) = try CairnProcess.run(["serve", "--zones", "zones", "--api-max-connections-per-address", "0"])
        #expect(rc2 != 0 && out2.contains("--api-max-connections-per-address"), "\(out2)")
    }
}

/// Raw client sockets for the limits tests: bound to a chosen loopback source address, each call
/// bounded in time (SO_SNDTIMEO covers connect, SO_RCVTIMEO reads).
enum SlowClient {
    /// Enough descriptors for 1,500 client sockets: the soft limit goes up to the hard one.
    static func raiseDescriptorLimit() {
        var lim = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        if getrlimit(resource, &lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max
            _ = setrlimit(resource, &lim)
        }
    }

    static func connect(port: Int, from source: String, timeout: Int = 2) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard DNSClient.connect(fd, port: port, from: source) else { close(fd); return nil }
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Still open: nothing to read (the server sends nothing to a partial head), or data.
    /// Closed: EOF or a reset.
    static func isOpen(_ fd: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) > 0 else { return true }
        var b: UInt8 = 0
        let n = recv(fd, &b, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    }

    /// Seconds from now until the peer closes `fd` (reading and dropping what it sends), or nil.
    static func secondsUntilClosed(_ fd: Int32, within limit: Double) -> Double? {
        let t0 = Date()
        var buf = [UInt8](repeating: 0, count: 4096)
        while Date().timeIntervalSince(t0) < limit {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let left = Int32(max(1, (limit - Date().timeIntervalSince(t0)) * 1000))
            guard poll(&p, 1, min(left, 100)) > 0 else { continue }
            let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return Date().timeIntervalSince(t0) }
        }
        return nil
    }

    /// Reads a response's head and its Content-Length body (keep-alive: no EOF to wait for).
    static func readResponseHead(_ fd: Int32) -> String? {
        var raw: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while raw.count < 65536 {
            let n = recv(fd, &buf, buf.count, 0)
            guard n > 0 else { return nil }
            raw += buf[0..<n]
            let text = String(decoding: raw, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { continue }
            let head = String(text[..<end.lowerBound])
            let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            if text.utf8.count - text.utf8.distance(from: text.startIndex, to: end.upperBound) >= length { return head }
        }
        return nil
    }

    /// `GET /healthz` on a fresh connection from `source`: the status (nil: none) and the seconds it took.
    static func healthz(port: Int, from source: String) -> (Int?, Double) {
        let t0 = Date()
        guard let fd = connect(port: port, from: source) else { return (nil, Date().timeIntervalSince(t0)) }
        defer { close(fd) }
        send(fd, Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        let head = readResponseHead(fd)
        let status = head.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) }
        return (status, Date().timeIntervalSince(t0))
    }

    /// Open descriptors of a process (/proc/PID/fd).
    static func descriptors(of pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }
}
