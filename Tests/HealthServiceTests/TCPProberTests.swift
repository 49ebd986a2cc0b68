import GSLBCore
import HealthService
import NIOCore
import NIOPosix
import Testing

@Suite struct TCPProberTests {
    let prober = TCPProber(group: TestServers.group)

    func spec(_ port: Int, _ host: String = "127.0.0.21", timeoutMs: Int = 300, options: [String: String] = [:]) -> ProbeSpec {
        ProbeSpec(address: host, port: port, monitor: Monitor(name: "t", type: .tcp, timeoutMs: timeoutMs, options: options))
    }

    @Test func openPortIsUp() async throws {
        let server = try await TestServers.tcp("127.0.0.21") { SilentHandler() }
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port))
        #expect(r.ok, "\(r)")
        #expect(r.detail == "connected")
        #expect(r.latency >= 0 && r.latency < 2.5)
    }

    @Test func closedPortIsDownAtOnceWithConnectionRefused() async throws {
        let port = try await TestServers.closedPort("127.0.0.22")
        let r = await prober.probe(spec(port, "127.0.0.22", timeoutMs: 2000))
        #expect(!r.ok)
        #expect(r.detail == "connect: connection refused", "\(r)")
        #expect(r.latency < 2.5, "\(r)")
    }

    @Test func listenerThatNeverSendsTheExpectedBannerIsDownByTimeout() async throws {
        let server = try await TestServers.tcp("127.0.0.21") { SilentHandler() }
        defer { Task { try? await server.close() } }
        let clock = ContinuousClock()
        let t0 = clock.now
        let r = await prober.probe(spec(server.port, timeoutMs: 300, options: ["expect": "SSH-"]))
        let elapsed = clock.now - t0
        #expect(!r.ok)
        #expect(r.detail.hasPrefix("timeout after 300 ms"), "\(r)")
        #expect(r.detail.contains("\"SSH-\""), "\(r)")
        #expect(r.latency >= 0.29 && r.latency <= 2.5, "\(r)")
        #expect(elapsed < .seconds(30), "\(elapsed)")
    }

    @Test func bannerContainingExpectIsUp() async throws {
        let server = try await TestServers.tcp("127.0.0.21") { BannerHandler(banner: "SSH-2.0-test\r\n") }
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port, options: ["expect": "SSH-2.0"]))
        #expect(r.ok, "\(r)")
        #expect(r.detail == "read \"SSH-2.0\"")
    }

    @Test func sendIsWrittenAndTheReplyIsMatched() async throws {
        let server = try await TestServers.tcp("127.0.0.21") { BannerHandler(banner: "") }
        defer { Task { try? await server.close() } }
        let up = await prober.probe(spec(server.port, options: ["send": "PING\r\n", "expect": "+PONG"]))
        #expect(up.ok, "\(up)")
        let down = await prober.probe(spec(server.port, timeoutMs: 200, options: ["send": "HELLO\r\n", "expect": "+PONG"]))
        #expect(!down.ok)
        #expect(down.detail.hasPrefix("timeout after 200 ms"), "\(down)")
    }

    @Test func bannerWithoutTheExpectedTextIsDownWhenThePeerCloses() async throws {
        let server = try await TestServers.tcp("127.0.0.21") { CloseAfterBannerHandler(banner: "220 smtp ready\r\n") }
        defer { Task { try? await server.close() } }
        let r = await prober.probe(spec(server.port, timeoutMs: 1000, options: ["expect": "SSH-"]))
        #expect(!r.ok)
        #expect(r.detail == "response does not contain \"SSH-\" (got \"220 smtp ready\\r\\n\")", "\(r)")
    }
}

/// Sends a banner, then closes.
final class CloseAfterBannerHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let banner: String
    init(banner: String) { self.banner = banner }
    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: banner))).whenComplete { [channel = context.channel] _ in
            channel.close(promise: nil)
        }
    }
}
