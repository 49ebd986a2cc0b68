import DNSWire
import Foundation
import HealthService
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Loopback listeners started by the tests on port 0: the real peers the probers talk to.
enum TestServers {
    static let group = MultiThreadedEventLoopGroup.singleton
    /// Made once: an HTTPProber loads the system's trust roots (tens of milliseconds of blocking work).
    static let httpProber = HTTPProber(group: group)
    static let monitorProber = MonitorProber(group: group)
    /// With `command` monitors allowed (`cairn serve --allow-command-monitors`).
    static let commandProber = MonitorProber(group: group, allowCommands: true)

    /// A TCP listener on `host`, port 0; each accepted connection gets the handlers `make` returns.
    static func tcp(_ host: String, port: Int = 0, tls: NIOSSLContext? = nil,
                    _ make: @escaping @Sendable () -> any ChannelHandler) async throws -> RunningServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if let tls { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try child.pipeline.syncOperations.addHandler(make())
                }
            }
            .bind(host: host, port: port).get()
        return RunningServer(channel: channel)
    }

    /// A port on `host` where nothing listens (bound, read, closed).
    static func closedPort(_ host: String) async throws -> Int {
        let s = try await tcp(host) { SilentHandler() }
        let port = s.port
        try await s.close()
        return port
    }

    /// A UDP DNS responder on `host`, port 0.
    static func dns(_ host: String, _ reply: DNSReply) async throws -> RunningServer {
        let channel = try await DatagramBootstrap(group: group)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(DNSResponder(reply: reply)) }
            }
            .bind(host: host, port: 0).get()
        return RunningServer(channel: channel)
    }

    /// A self-signed certificate for CN=localhost, made once by openssl in a new temporary folder
    /// (awaited, not waited for: the tests share two threads).
    static func selfSignedCertificate() async throws -> (cert: String, key: String) {
        try await certificate.value
    }

    private static let certificate = Task<(cert: String, key: String), any Error> {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-prober-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cert = dir.appendingPathComponent("cert.pem").path
        let key = dir.appendingPathComponent("key.pem").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                       "-addext", "subjectAltName=DNS:localhost", "-days", "1", "-keyout", key, "-out", cert]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { cont in
            p.terminationHandler = { cont.resume(returning: $0.terminationStatus) }
            do { try p.run() } catch { cont.resume(throwing: error) }
        }
        guard status == 0 else { throw TestError("openssl req failed: \(status)") }
        return (cert, key)
    }

    static func tlsServerContext(cert: String, key: String) throws -> NIOSSLContext {
        let config = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        return try NIOSSLContext(configuration: config)
    }
}

struct TestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

struct RunningServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }
    func close() async throws { try await channel.close() }
}

/// Accepts and never says anything.
final class SilentHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

/// Sends a banner on accept; answers `PING` lines with `+PONG`.
final class BannerHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let banner: String
    init(banner: String) { self.banner = banner }

    func channelActive(context: ChannelHandlerContext) {
        if !banner.isEmpty {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: banner)), promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let text = String(buffer: unwrapInboundIn(data))
        if text.contains("PING") {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: "+PONG\r\n")), promise: nil)
        }
    }
}

/// What the test HTTP server answers; nil status = never answer.
struct HTTPReply: Sendable {
    var status: Int?
    var headers: [(String, String)] = []
    var body: String = ""
    var chunked = false

    static func ok(_ body: String = "ok", headers: [(String, String)] = []) -> HTTPReply {
        HTTPReply(status: 200, headers: headers, body: body)
    }
    static let hang = HTTPReply(status: nil)

    var bytes: [UInt8] {
        var head = "HTTP/1.1 \(status ?? 0) Test\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if chunked {
            head += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            var body = ""
            for piece in self.body.split(separator: " ", omittingEmptySubsequences: false) {
                let s = piece + " "
                body += String(s.utf8.count, radix: 16) + "\r\n" + s + "\r\n"
            }
            return Array((head + body + "0\r\n\r\n").utf8)
        }
        head += "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        return Array((head + body).utf8)
    }
}

/// The requests a test server saw.
final class RequestLog: Sendable {
    private let requests = Mutex<[String]>([])
    func append(_ r: String) { requests.withLock { $0.append(r) } }
    var all: [String] { requests.withLock { $0 } }
}

/// Reads a request head, logs it, answers with `reply` and closes.
final class HTTPTestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let reply: HTTPReply
    let log: RequestLog
    private var seen = ""

    init(reply: HTTPReply, log: RequestLog) { self.reply = reply; self.log = log }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        seen += String(buffer: unwrapInboundIn(data))
        guard seen.contains("\r\n\r\n") else { return }
        log.append(seen)
        guard reply.status != nil else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: reply.bytes))).whenComplete { [channel = context.channel] _ in
            channel.close(promise: nil)
        }
    }
}

/// How the test DNS server answers.
struct DNSReply: Sendable {
    var rcode: UInt8 = 0
    /// A records for the question name.
    var addresses: [String] = []
    var silent = false
}

/// Answers each query with `reply`: the question echoed, AA set, A records compressed against it.
final class DNSResponder: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let reply: DNSReply
    init(reply: DNSReply) { self.reply = reply }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let env = unwrapInboundIn(data)
        guard !reply.silent else { return }
        let query = Array(env.data.readableBytesView)
        guard let msg = try? Message(bytes: query), let q = msg.questions.first else { return }
        let answers = reply.rcode == 0 ? reply.addresses.compactMap { IPAddressText.parseIPv4($0) } : []
        var out: [UInt8] = [query[0], query[1], 0x84 | (query[2] & 0x01), reply.rcode & 0x0f,
                            0, 1, 0, UInt8(answers.count), 0, 0, 0, 0]
        out += query[12..<(12 + q.name.wire.count + 4)]
        for a in answers { out += [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4] + a }
        let buf = context.channel.allocator.buffer(bytes: out)
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: env.remoteAddress, data: buf)), promise: nil)
    }
}
