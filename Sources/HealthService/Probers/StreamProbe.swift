import NIOCore
import NIOPosix
import NIOSSL

/// Reads a stream response as it arrives and decides when it has seen enough (TCP banner, HTTP response).
protocol StreamResponseReader: Sendable {
    /// What the probe waits for once connected, for the timeout detail (`the response`, `"SSH-"`).
    var waitingFor: String { get }
    /// A verdict as soon as the connection is up (a plain connect check), or nil to go on.
    mutating func connected() -> ProbeVerdict?
    /// A verdict once the request is written, or nil to read a response.
    mutating func sent() -> ProbeVerdict?
    /// Bytes read (valid only during the call); a verdict when enough has been read, or nil to read more.
    mutating func read(_ bytes: UnsafeRawBufferPointer) -> ProbeVerdict?
    /// The peer closed the connection.
    mutating func closed() -> ProbeVerdict
}

/// TLS for a stream probe: the context and the SNI / verification name (nil for IP literals).
struct StreamTLS: Sendable {
    var context: NIOSSLContext
    var serverHostname: String?
}

/// One connection, one request, one response, one verdict, within a deadline: the engine of the TCP and HTTP(S) probers.
enum StreamProbe {
    static func run<Reader: StreamResponseReader>(group: any EventLoopGroup, address: String, port: Int, timeoutMs: Int,
                                                 tls: StreamTLS?, request: [UInt8], reader: Reader) async -> ProbeResult {
        let start = NIODeadline.now()
        let timeoutMs = max(1, timeoutMs)
        let loop = group.next()
        let completion = ProbeCompletion(loop: loop, start: start)
        loop.execute {
            completion.timeout = loop.scheduleTask(deadline: start + .milliseconds(Int64(timeoutMs))) {
                completion.finish(.timeout(timeoutMs, completion.phase))
            }
            let bootstrap = ClientBootstrap(group: loop)
                .connectTimeout(.milliseconds(Int64(timeoutMs)))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    completion.channel = channel
                    return channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname))
                        }
                        try channel.pipeline.syncOperations.addHandler(
                            StreamProbeHandler(reader: reader, request: request, tls: tls != nil, completion: completion))
                    }
                }
            // An IP literal as it is; a host name resolved by NIO.
            let connected = (try? SocketAddress(ipAddress: address, port: port)).map { bootstrap.connect(to: $0) }
                ?? bootstrap.connect(host: address, port: port)
            connected.whenFailure { error in
                let text = ProbeErrorText.describe(error)
                completion.finish(.down(text.hasPrefix("TLS:") ? text : "connect: " + text))
            }
        }
        return await completion.result()
    }
}

/// The single verdict of one probe, given once whoever comes first (reply, close, error, timeout).
/// Touched only on its event loop. The latency is taken there, when the verdict is given, not when the
/// awaiting task gets to run again.
final class ProbeCompletion: @unchecked Sendable {
    let loop: any EventLoop
    let start: NIODeadline
    let promise: EventLoopPromise<ProbeResult>
    var channel: (any Channel)?
    var timeout: Scheduled<Void>?
    /// What the probe is doing, for the timeout detail.
    var phase = "connecting"
    private(set) var done = false

    init(loop: any EventLoop, start: NIODeadline) {
        self.loop = loop
        self.start = start
        self.promise = loop.makePromise(of: ProbeResult.self)
    }

    func result() async -> ProbeResult {
        (try? await promise.futureResult.get()) ?? ProbeVerdict.down("probe failed").result(since: start)
    }

    func finish(_ verdict: ProbeVerdict) {
        loop.preconditionInEventLoop()
        guard !done else { return }
        done = true
        timeout?.cancel()
        promise.succeed(verdict.result(since: start))
        channel?.close(promise: nil)
    }
}

final class StreamProbeHandler<Reader: StreamResponseReader>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var reader: Reader
    private let request: [UInt8]
    private let tls: Bool
    private let completion: ProbeCompletion

    init(reader: Reader, request: [UInt8], tls: Bool, completion: ProbeCompletion) {
        self.reader = reader; self.request = request; self.tls = tls; self.completion = completion
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        guard !completion.done else { return }
        if let v = reader.connected() { completion.finish(v); return }
        // (The TLS handshake's end is an NIOTLS event, a module this target does not import.)
        completion.phase = tls ? "in the TLS handshake or waiting for \(reader.waitingFor)" : "waiting for \(reader.waitingFor)"
        guard !request.isEmpty else { return }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: request)), promise: done)
        let completion = self.completion
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        done.futureResult.whenSuccess {
            guard !completion.done, let v = handler.value.reader.sent() else { return }
            completion.finish(v)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !completion.done else { return }
        if let v = unwrapInboundIn(data).withUnsafeReadableBytes({ reader.read($0) }) { completion.finish(v) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !completion.done { completion.finish(reader.closed()) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A server that closes without close_notify: the close that follows decides.
        if let e = error as? NIOSSLError, case .uncleanShutdown = e { return }
        guard !completion.done else { return }
        let text = ProbeErrorText.describe(error)
        completion.finish(.down(text.hasPrefix("TLS:") ? text : "read: " + text))
    }
}
