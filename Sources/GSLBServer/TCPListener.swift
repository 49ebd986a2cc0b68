import DNSWire
import GSLBCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// DNS over TCP (RFC 7766): 2-octet length framing, several queries per
/// connection answered in order, an idle timeout, and a cap on open connections
/// that closes the longest-idle connection to make room for a new one.
struct DNSFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let len = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return .needMoreData }
        guard buffer.readableBytes >= 2 + Int(len) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        let frame = buffer.readSlice(length: Int(len))!
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.clear()
        return .needMoreData
    }
}

/// Per event-loop thread: an engine and a 64 KiB response buffer.
final class TCPScratch {
    let engine: AnswerEngine
    let out: UnsafeMutableRawBufferPointer

    init(maxUDPPayload: Int) {
        engine = AnswerEngine(maxUDPPayload: maxUDPPayload)
        out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65535, alignment: 8)
    }
    deinit { out.deallocate() }
}

/// Tracks open connections and their last activity, to enforce the cap.
final class TCPConnectionTable: Sendable {
    struct Entry { let channel: Channel; var lastActive: NIODeadline }
    private let state = NIOLockedValueBox<[ObjectIdentifier: Entry]>([:])
    let maxConnections: Int

    init(maxConnections: Int) { self.maxConnections = maxConnections }

    /// Registers a channel; returns the channel to evict when over the cap.
    func add(_ ch: Channel) -> Channel? {
        state.withLockedValue { d in
            d[ObjectIdentifier(ch)] = Entry(channel: ch, lastActive: .now())
            guard d.count > maxConnections else { return nil }
            let victim = d.filter { $0.key != ObjectIdentifier(ch) }.min { $0.value.lastActive < $1.value.lastActive }
            if let v = victim { d[v.key] = nil; return v.value.channel }
            return nil
        }
    }

    func touch(_ ch: Channel) {
        state.withLockedValue { d in d[ObjectIdentifier(ch)]?.lastActive = .now() }
    }

    func remove(_ ch: Channel) { state.withLockedValue { d in d[ObjectIdentifier(ch)] = nil } }

    var count: Int { state.withLockedValue { $0.count } }
}

final class DNSTCPHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let box: SnapshotBox
    let scratch: ThreadSpecificVariable<TCPScratch>
    let maxUDPPayload: Int
    let table: TCPConnectionTable
    let counters: QueryCounters
    var reader: SnapshotReader
    var wrote = false
    var client = ClientAddress.unknown
    /// The engine (of this event loop thread) whose tally holds counts not yet added to the
    /// shared totals: added once per read burst, not per query.
    var unflushed: TCPScratch?

    init(box: SnapshotBox, scratch: ThreadSpecificVariable<TCPScratch>, maxUDPPayload: Int, table: TCPConnectionTable,
         counters: QueryCounters) {
        self.box = box
        self.scratch = scratch
        self.maxUDPPayload = maxUDPPayload
        self.table = table
        self.counters = counters
        self.reader = SnapshotReader(box)
    }

    func channelActive(context: ChannelHandlerContext) {
        if let victim = table.add(context.channel) { victim.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        flushCounts()
        table.remove(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let s: TCPScratch
        if let existing = scratch.currentValue { s = existing } else {
            s = TCPScratch(maxUDPPayload: maxUDPPayload)
            scratch.currentValue = s
        }
        let snapshot = reader.refresh()
        if client.family == 0, let ip = context.channel.remoteAddress?.ipAddress, let a = ClientAddress(text: ip) { client = a }
        let c = client
        let n = frame.withUnsafeReadableBytes { q in
            s.engine.respond(to: q, transport: .tcp, snapshot: snapshot, client: c, into: s.out)
        }
        table.touch(context.channel)
        unflushed = s
        guard n > 0 else { return }
        var out = context.channel.allocator.buffer(capacity: n + 2)
        out.writeInteger(UInt16(n))
        out.writeBytes(UnsafeRawBufferPointer(start: s.out.baseAddress, count: n))
        context.write(wrapOutboundOut(out), promise: nil)
        wrote = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if wrote { context.flush(); wrote = false }
        flushCounts()
        context.fireChannelReadComplete()
    }

    /// The engine's tally is per thread: whichever connection of the thread flushes it adds
    /// every connection's counts (all on this thread, so no race).
    private func flushCounts() {
        guard let s = unflushed else { return }
        unflushed = nil
        if s.engine.tally.pending > 0 { counters.add(s.engine.tally) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
