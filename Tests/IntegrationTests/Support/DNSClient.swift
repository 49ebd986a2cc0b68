import DNSWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tiny blocking DNS client over real sockets, for tests.
enum DNSClient {
    static func sockaddr4(_ port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return a
    }

    static func setTimeout(_ fd: Int32, _ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends raw bytes over UDP; returns the reply bytes or nil on timeout.
    static func udpRaw(_ bytes: [UInt8], port: Int, timeout: Double = 2) -> [UInt8]? {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        setTimeout(fd, timeout)
        var addr = sockaddr4(port)
        let sent = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == bytes.count else { return nil }
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buf, buf.count, 0)
        guard n > 0 else { return nil }
        return Array(buf[0..<n])
    }

    static func udp(_ name: String, _ type: RecordType, port: Int, edns: (UInt16, Bool)? = nil,
                    options: [(code: UInt16, data: [UInt8])] = [], id: UInt16 = 0x4242) throws -> Message {
        let q = QueryBuilder.make(id: id, name: try DomainName(name), type: type,
                                  edns: edns.map { (udpSize: $0.0, dnssecOK: $0.1) }, options: options)
        guard let r = udpRaw(q, port: port) else { throw ClientError.timeout }
        return try Message(bytes: r)
    }

    /// A connected TCP socket to 127.0.0.1:port.
    /// `from`: the source address (another loopback address, e.g. 127.0.0.2, is another client to the server).
    static func tcpConnect(port: Int, timeout: Double = 2, from source: String? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        setTimeout(fd, timeout)
        guard connect(fd, port: port, from: source) else { close(fd); throw ClientError.connect }
        return fd
    }

    /// Binds `fd` to `source` (when given: another loopback address is another client to the server)
    /// and connects it to 127.0.0.1:port; false when either fails.
    static func connect(_ fd: Int32, port: Int, from source: String?) -> Bool {
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let rc = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { return false }
        }
        var addr = sockaddr4(port)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    static func tcpSend(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    static func framed(_ q: [UInt8]) -> [UInt8] { [UInt8(q.count >> 8), UInt8(q.count & 0xff)] + q }

    /// Reads exactly n bytes, or nil on EOF/timeout.
    static func readExactly(_ fd: Int32, _ n: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, n - got, 0) }
            if r <= 0 { return nil }
            got += r
        }
        return out
    }

    static func tcpReadMessage(_ fd: Int32) -> [UInt8]? {
        guard let l = readExactly(fd, 2) else { return nil }
        return readExactly(fd, Int(l[0]) << 8 | Int(l[1]))
    }

    static func tcp(_ name: String, _ type: RecordType, port: Int, id: UInt16 = 0x4343, from source: String? = nil) throws -> Message {
        let fd = try tcpConnect(port: port, from: source)
        defer { close(fd) }
        tcpSend(fd, framed(QueryBuilder.make(id: id, name: try DomainName(name), type: type)))
        guard let r = tcpReadMessage(fd) else { throw ClientError.timeout }
        return try Message(bytes: r)
    }

    /// True when the peer closed the connection (EOF) within the timeout.
    static func peerClosed(_ fd: Int32, within seconds: Double) -> Bool {
        setTimeout(fd, seconds)
        var b: UInt8 = 0
        let r = recv(fd, &b, 1, 0)
        return r == 0
    }
}

enum ClientError: Error { case timeout, connect }
