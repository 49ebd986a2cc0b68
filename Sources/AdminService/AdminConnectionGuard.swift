import Logging
import NIOCore
import NIOHTTP1
import NIOTLS

/// Closes one admin API connection when `AdminConnectionDeadlines` says so. It sits first in the
/// HTTP pipeline (after the TLS handler when there is one) and so sees every byte, which the HTTP
/// decoder does not pass on until a head is complete: that is how a head still arriving is told
/// from a connection that sends nothing. `AdminRequestObserver`, after the decoder, reports heads,
/// request ends and response ends to it.
///
/// Hummingbird's own `HTTP1Channel.Configuration.idleTimeout` is not used: it counts from the last
/// decoded HTTP part, so it cannot tell an idle kept-alive connection from one dripping a head, and
/// a single timer cannot be both the header deadline and the idle timeout.
final class AdminConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var deadlines: AdminConnectionDeadlines
    private let table: AdminConnectionTable
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var timerAt: NIODeadline?

    init(limits: AdminConnectionLimits, accepted: NIODeadline, tls: Bool, table: AdminConnectionTable, logger: Logger) {
        deadlines = AdminConnectionDeadlines(limits: limits, accepted: accepted, tls: tls)
        self.table = table
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        timerAt = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadlines.bytesRead(at: .now())
        arm()
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? TLSUserEvent, case .handshakeCompleted = e {
            deadlines.handshakeCompleted()
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: - From AdminRequestObserver

    func headRead() {
        let was = deadlines.inRequest
        deadlines.headRead(at: .now())
        if !was, let ch = context?.channel { table.setInRequest(ch, true) }
        arm()
    }

    func bodyRead() { deadlines.bodyRead(at: .now()) }

    func endRead() {
        deadlines.endRead()
        arm()
    }

    func responseEnded() {
        deadlines.responseEnded(at: .now())
        if !deadlines.inRequest, let ch = context?.channel { table.setInRequest(ch, false) }
        arm()
    }

    // MARK: - The timer

    /// One scheduled check per connection, at the earliest deadline; a check that finds none
    /// expired (the connection moved on meanwhile) schedules the next.
    private func arm() {
        guard let context, let next = deadlines.next else { return }
        if let at = timerAt, at <= next { return }
        timer?.cancel()
        timerAt = next
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: next) { [self] in
            self.check()
        }
    }

    private func check() {
        timer = nil
        timerAt = nil
        guard let context else { return }
        if let reason = deadlines.expired(at: .now()) {
            let peer = context.channel.remoteAddress?.description ?? "?"
            logger.debug("closing admin API connection from \(peer): \(reason.rawValue)", metadata: ["event": "api.connection_closed"])
            table.noteTimeout()
            if let r = table.report() { logger.warning("\(r)", metadata: ["event": "api.connection_limits"]) }
            context.close(promise: nil)
            return
        }
        arm()
    }
}

@available(*, unavailable)
extension AdminConnectionGuard: Sendable {}

/// Tells the connection's `AdminConnectionGuard` where its requests stand: placed right after the
/// HTTP/1 decoder, it sees each request's head, body and end, and each response's end on its way
/// out.
final class AdminRequestObserver: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let connectionGuard: AdminConnectionGuard

    init(_ connectionGuard: AdminConnectionGuard) { self.connectionGuard = connectionGuard }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: connectionGuard.headRead()
        case .body: connectionGuard.bodyRead()
        case .end: connectionGuard.endRead()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { connectionGuard.responseEnded() }
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension AdminRequestObserver: Sendable {}
