import DNSWire
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `cairn serve`'s listening lines come once every listener (UDP, TCP, the API, `--metrics`) is bound; a listener
/// that cannot bind names its address, what it is and the flag to change, and `serve` exits 1 without a
/// listening line.
@Suite struct ListenTests {
    static func serve(_ extra: [String]) throws -> (Int32?, String) {
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let (st, out, _) = try CairnProcess.run(["serve", "--zones", env.zones, "--db", env.db] + extra, timeout: 30)
        return (st, out)
    }

    /// A busy port for each listener: (the flag it is, the listener's name in the message, UDP or TCP busy).
    static let busy: [(flag: String, listener: String, udp: Bool)] = [("--dns", "UDP", true), ("--api", "API", false),
                                                                     ("--metrics", "metrics", false)]

    @Test(arguments: 0..<3) func aBusyPortNamesTheAddressTheListenerAndTheFlagAndNoListeningLineIsPrinted(_ i: Int) throws {
        let (flag, listener, udp) = Self.busy[i]
        let held = try HeldPort(udp: udp)
        var flags = ["--dns": "127.0.0.1:0", "--api": "127.0.0.1:0", "--metrics": "127.0.0.1:0"]
        flags[flag] = "127.0.0.1:\(held.port)"
        let (st, out) = try Self.serve(flags.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] })
        #expect(st == 1, "\(out)")
        #expect(out.contains("cannot bind 127.0.0.1:\(held.port) (\(listener), \(flag)): address already in use"), "\(out)")
        // the others were (or would have been) bound, but the lines wait for every listener: none is printed
        #expect(!out.contains("listening"), "\(out)")
        #expect(!out.contains("USAGE"), "\(out)")
    }

    @Test func theListeningLinesComeTogetherOnceEveryListenerAnswers() throws {
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0",
                                       "--api", "127.0.0.1:0", "--metrics", "127.0.0.1:0"])
        // CairnProcess returned at the first udp line: every other listener's line is already there, in one block
        let lines = server.stderr.value.split(separator: "\n").map(String.init)
        let first = try #require(lines.firstIndex { $0.hasPrefix("cairn: listening ") })
        let block = lines[first...].prefix(4).map { $0.split(separator: " ").prefix(3).joined(separator: " ") }
        #expect(block == ["cairn: listening udp", "cairn: listening tcp", "cairn: listening api", "cairn: listening metrics"],
                "\(lines)")
        // and each of them answers
        #expect(try DNSClient.udp("gslb.test.", .soa, port: server.port).answer.count == 1)
        #expect(try DNSClient.tcp("gslb.test.", .soa, port: server.port).answer.count == 1)
        let metricsPort = try #require(CairnProcess.port(after: "listening metrics ", in: server.stderr.value))
        for port in [server.apiPort, metricsPort] {
            let (st, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/curl"),
                                                          ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/metrics"])
            #expect(st == 0 && ["200", "401"].contains(out), "port \(port): \(out)")
        }
        // ready comes after them
        let deadline = Date().addingTimeInterval(5)
        while !server.stderr.value.contains("event=ready") && Date() < deadline { usleep(20_000) }
        let after = server.stderr.value.split(separator: "\n").map(String.init)
        let ready = try #require(after.firstIndex { $0.contains("event=ready") })
        #expect(ready > first + 3)
    }
}

/// A socket bound on 127.0.0.1 (port 0: a free one) and held, listening when TCP, so that a server cannot bind
/// that port.
final class HeldPort {
    let fd: Int32
    let port: Int
    init(udp: Bool) throws {
        let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
        var a = DNSClient.sockaddr4(0)
        let ok = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(ok == 0)
        if !udp { _ = listen(fd, 1) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: a.sin_port))
    }
    deinit { close(fd) }
}
