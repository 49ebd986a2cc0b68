import DNSWire
import GSLBCore
import Logging
import Synchronization
import NIOCore
import NIOPosix

/// DNS over TCP (RFC 7766): 2-octet length framing, several queries per
/// connection answered in order, a cap on open connections that closes the
/// longest-idle connection to make room for a new one, and backpressure: a
/// connection whose client does not read its answers stops being read, and is
/// closed once its answers make no progress (docs/security.md, "DNS over TCP").
public enum DNSTCPLimits {
    /// Answers of one connection not yet taken by the kernel (written to the socket), at
    /// most: at the cap the connection stops reading queries until its answers drain.
    /// NSD answers one query of a connection at a time; 32 keeps pipelining useful.
    public static let maxQueriesInFlight = 32
    /// Octets of answers queued in the server for one connection above which it stops
    /// reading (`Channel.isWritable` turns false) ...
    public static let writeBufferHighWaterMark = 64 * 1024
    /// ... and below which it reads again.
    public static let writeBufferLowWaterMark = 16 * 1024
    /// Default of `--tcp-write-timeout`: a connection whose pending answers make no progress
    /// (none is taken by the kernel) for this long is closed, with a reset.
    public static let defaultWriteTimeout: TimeAmount = .seconds(5)
    /// Default of `--tcp-max-connections-per-address`: an eighth of the default total cap, many
    /// times what a resolver keeps open to one server (RFC 7766 clients reuse one connection).
    public static let defaultMaxConnectionsPerAddress = 64
    /// Rounds of "answer the buffered queries, flush" in one go (a bound that the input
    /// buffer makes unreachable: it holds a few hundred KiB at most).
    static let maxPumpRounds = 100_000
}

/// Per event-loop thread: an engine and a 64 KiB response buffer.
final class TCPScratch {
    let engine: AnswerEngine
    let out: UnsafeMutableRawBufferPointer

    init(_ c: DNSServerConfiguration) {
        engine = AnswerEngine(maxUDPPayload: c.maxUDPPayload, identity: c.identity, cookies: c.cookies)
        out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65535, alignment: 8)
    }
    deinit { out.deallocate() }
}

/// Tracks open connections and their last activity, to enforce the caps: past the per-address
/// cap a new connection displaces the longest-idle connection of its own address, past the total
/// cap the longest-idle connection of all. So one address (a flood of connections that never
/// send a whole query) displaces only its own connections, not other clients' idle ones.
final class TCPConnectionTable: Sendable {
    struct Entry { let channel: Channel; var lastActive: NIODeadline; let address: String }
    struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        /// Open connections per client address (kept, not counted on each accept).
        var perAddress: [String: Int] = [:]

        mutating func remove(_ id: ObjectIdentifier) -> Entry? {
            guard let e = entries.removeValue(forKey: id) else { return nil }
            let left = (perAddress[e.address] ?? 1) - 1
            perAddress[e.address] = left > 0 ? left : nil
            return e
        }
    }
    private let state = Mutex(State())
    let maxConnections: Int
    /// 0: no per-address cap.
    let maxPerAddress: Int

    init(maxConnections: Int, maxPerAddress: Int = 0) {
        self.maxConnections = maxConnections
        self.maxPerAddress = maxPerAddress
    }

    /// Registers a channel from `address`; returns the channel to evict when over a cap.
    func add(_ ch: Channel, address: String) -> Channel? {
        state.withLock { st in
            let id = ObjectIdentifier(ch)
            st.entries[id] = Entry(channel: ch, lastActive: .now(), address: address)
            st.perAddress[address, default: 0] += 1
            /// The longest-idle connection other than the new one (of `address` only, when given).
            func evictLongestIdle(of address: String?) -> Channel? {
                let victim = st.entries.lazy.filter { $0.key != id && (address == nil || $0.value.address == address) }
                    .min { $0.value.lastActive < $1.value.lastActive }
                return victim.flatMap { st.remove($0.key)?.channel }
            }
            if maxPerAddress > 0, st.perAddress[address, default: 0] > maxPerAddress { return evictLongestIdle(of: address) }
            guard st.entries.count > maxConnections else { return nil }
            return evictLongestIdle(of: nil)
        }
    }

    func touch(_ ch: Channel) {
        state.withLock { st in st.entries[ObjectIdentifier(ch)]?.lastActive = .now() }
    }

    func remove(_ ch: Channel) { state.withLock { st in _ = st.remove(ObjectIdentifier(ch)) } }

    var count: Int { state.withLock { $0.entries.count } }

    /// Every open connection (for a graceful shutdown).
    var channels: [Channel] { state.withLock { $0.entries.values.map(\.channel) } }
}

/// One TCP connection: frames queries out of the byte stream, answers them in order, and
/// reads only while its answers drain.
///
/// It reads (forwards `read`) only while the channel is writable (answers queued below
/// the high water mark) and fewer than `DNSTCPLimits.maxQueriesInFlight` answers wait
/// for the socket; past either it leaves the queries it has in its input buffer and stops
/// reading, and goes on when answers drain. So a client that never reads costs at most
/// the water mark, the answers in flight and the input buffer, not memory without bound.
///
/// One timer per connection: while answers are pending, the write timeout (closed with
/// a reset when none is taken by the kernel for `tcpWriteTimeout`); while none is, the idle
/// timeout (closed when no complete query came for `tcpIdleTimeout`). A client that keeps
/// sending queries but never reads is therefore closed by the write timeout, not kept
/// open by its own queries.
final class DNSTCPHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let box: SnapshotBox
    let scratch: ThreadSpecificVariable<TCPScratch>
    /// The engine's settings (for this thread's `TCPScratch`) and the idle and write timeouts.
    let configuration: DNSServerConfiguration
    let table: TCPConnectionTable
    let counters: QueryCounters
    let maxQueriesInFlight: Int
    var reader: SnapshotReader
    var client = ClientAddress.unknown
    /// The engine (of this event loop thread) whose tally holds counts not yet added to the
    /// shared totals: added once per read burst, not per query.
    var unflushed: TCPScratch?

    /// Bytes read and not yet answered: at most one partial frame while reading, plus what
    /// the reads of one event loop tick brought once the connection stopped reading.
    private var input: ByteBuffer?
    /// Answers written (or held) whose write has not completed.
    private(set) var inFlight = 0
    /// The last answer, not yet written: written with the promise that tells when every
    /// answer before it was taken by the kernel too (one promise per flush, not per answer).
    private var held: ByteBuffer?
    private var heldCount = 0
    /// A limit stopped answering: the input may hold complete queries.
    private(set) var blocked = false
    /// NIO asked to read while blocked: forwarded once unblocked.
    private var readPending = false
    private var pumping = false, repump = false
    private var lastQuery = NIODeadline.uptimeNanoseconds(0)
    /// When the kernel last took octets of this connection's answers (sampled by `check`,
    /// and at each completed flush).
    private var lastProgress = NIODeadline.uptimeNanoseconds(0)
    /// Octets of answers handed to the channel so far, and how many of them the channel had
    /// written to the socket at the last check: progress is that number growing.
    private var queuedBytes = 0, takenAtCheck = 0
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture
    private var closing = false
    /// The server is stopping: nothing more is read; the connection closes once every answer is written.
    private var quiescing = false

    init(box: SnapshotBox, scratch: ThreadSpecificVariable<TCPScratch>, configuration: DNSServerConfiguration,
         table: TCPConnectionTable, counters: QueryCounters, maxQueriesInFlight: Int = DNSTCPLimits.maxQueriesInFlight) {
        self.box = box
        self.scratch = scratch
        self.configuration = configuration
        self.table = table
        self.counters = counters
        self.maxQueriesInFlight = max(1, maxQueriesInFlight)
        self.reader = SnapshotReader(box)
    }

    func channelActive(context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress ?? "?"
        if let victim = table.add(context.channel, address: address) { victim.close(promise: nil) }
        lastQuery = context.eventLoop.now
        schedule(context: context, at: lastQuery + configuration.tcpIdleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        flushCounts()
        table.remove(context.channel)
        timer?.cancel()
        timer = nil
        closing = true
        context.fireChannelInactive()
    }

    // MARK: - Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if input == nil || input!.readableBytes == 0 {
            input = bytes
        } else {
            input!.writeBuffer(&bytes)
        }
        answerFrames(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        pump(context: context)
        flushCounts()
        context.fireChannelReadComplete()
    }

    /// Reads only while not blocked; a read asked for meanwhile waits for `pump`.
    func read(context: ChannelHandlerContext) {
        if quiescing { return }
        if blocked {
            readPending = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { pump(context: context) }
        context.fireChannelWritabilityChanged()
    }

    /// Answers the complete queries of the input, in order, until a limit blocks.
    private func answerFrames(context: ChannelHandlerContext) {
        guard !blocked, !closing, var buf = input else { return }
        input = nil   // unique: mutated in place
        defer {
            if buf.readableBytes == 0 { buf.clear() } else if buf.readerIndex >= 1 << 16 { buf.discardReadBytes() }
            input = buf
        }
        var answered = false
        while true {
            guard let len = buf.getInteger(at: buf.readerIndex, as: UInt16.self),
                  buf.readableBytes >= 2 + Int(len) else { break }
            guard inFlight < maxQueriesInFlight, context.channel.isWritable else {
                blocked = true
                break
            }
            buf.moveReaderIndex(forwardBy: 2)
            let frame = buf.readSlice(length: Int(len))!
            answered = true
            answer(frame, context: context)
        }
        if answered {
            lastQuery = context.eventLoop.now
            table.touch(context.channel)
        }
    }

    private func answer(_ frame: ByteBuffer, context: ChannelHandlerContext) {
        let s: TCPScratch
        if let existing = scratch.currentValue { s = existing } else {
            s = TCPScratch(configuration)
            scratch.currentValue = s
        }
        let snapshot = reader.refresh()
        if client.family == 0, let ip = context.channel.remoteAddress?.ipAddress, let a = ClientAddress(text: ip) { client = a }
        let c = client
        let n = frame.withUnsafeReadableBytes { q in
            s.engine.respond(to: q, transport: .tcp, snapshot: snapshot, client: c, into: s.out)
        }
        unflushed = s
        guard n > 0 else { return }
        var out = context.channel.allocator.buffer(capacity: n + 2)
        out.writeInteger(UInt16(n))
        out.writeBytes(UnsafeRawBufferPointer(start: s.out.baseAddress, count: n))
        if let previous = held { context.write(wrapOutboundOut(previous), promise: nil) }
        if inFlight == 0 {
            // Nothing was pending: the channel's buffer is empty, everything queued was taken.
            lastProgress = context.eventLoop.now
            takenAtCheck = queuedBytes
        }
        held = out
        heldCount += 1
        queuedBytes += out.readableBytes
        inFlight += 1
    }

    // MARK: - Writing

    /// Flushes the answers, answers what the input holds once the limits allow, and reads
    /// again when nothing blocks. Reentrant calls (a write that completes inside the flush)
    /// become another round.
    private func pump(context: ChannelHandlerContext) {
        if pumping { repump = true; return }
        pumping = true
        defer { pumping = false }
        var rounds = 0
        repeat {
            repump = false
            rounds += 1
            if blocked && inFlight < maxQueriesInFlight && context.channel.isWritable {
                blocked = false
                answerFrames(context: context)
            }
            flushAnswers(context: context)
        } while repump && !closing && rounds < DNSTCPLimits.maxPumpRounds
        if !blocked && readPending && !closing && !quiescing {
            readPending = false
            context.read()
        }
        if inFlight > 0 { schedule(context: context, at: context.eventLoop.now + writeCheckInterval) }
    }

    private func flushAnswers(context: ChannelHandlerContext) {
        guard let last = held else { return }
        held = nil
        let count = heldCount
        heldCount = 0
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { [self] result in
            inFlight -= count
            lastProgress = context.eventLoop.now
            if case .failure = result { return }   // the channel closes on a write error
            pump(context: context)
            closeIfDrained(context: context)
        }
        context.writeAndFlush(wrapOutboundOut(last), promise: promise)
    }

    // MARK: - Graceful shutdown

    /// `ChannelShouldQuiesceEvent` (sent by `DNSServer.shutdown`): stop reading, answer the complete queries
    /// already read, and close once every answer has been written.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        quiescing = true
        pump(context: context)
        closeIfDrained(context: context)
    }

    private func closeIfDrained(context: ChannelHandlerContext) {
        guard quiescing, !closing, inFlight == 0, held == nil, !blocked else { return }
        closing = true
        context.close(promise: nil)
    }

    // MARK: - Timeouts

    /// Makes sure a check runs by `deadline`.
    private func schedule(context: ChannelHandlerContext, at deadline: NIODeadline) {
        guard !closing, timer == nil || deadline < timerDeadline else { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timerDeadline = .distantFuture
            check(context: context)
        }
    }

    /// How often pending answers are checked for progress: a connection is closed between
    /// `tcpWriteTimeout` and 1.25 × `tcpWriteTimeout` after the kernel last took an octet of it.
    private var writeCheckInterval: TimeAmount { .nanoseconds(max(configuration.tcpWriteTimeout.nanoseconds / 4, 10_000_000)) }

    private func check(context: ChannelHandlerContext) {
        guard !closing else { return }
        let now = context.eventLoop.now   // the loop's clock: virtual on an EmbeddedEventLoop
        if inFlight > 0 {
            let buffered = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
            let taken = queuedBytes - buffered - (held?.readableBytes ?? 0)
            if taken > takenAtCheck {
                takenAtCheck = taken
                lastProgress = now
            }
            if now - lastProgress >= configuration.tcpWriteTimeout {
                abort(context: context)
            } else {
                schedule(context: context, at: now + writeCheckInterval)
            }
        } else if now - lastQuery >= configuration.tcpIdleTimeout {
            closing = true
            context.close(promise: nil)
        } else {
            schedule(context: context, at: lastQuery + configuration.tcpIdleTimeout)
        }
    }

    /// Closes with a reset (SO_LINGER 0): the kernel drops the answers the client never
    /// read at once, instead of keeping them for the orphaned socket.
    private func abort(context: ChannelHandlerContext) {
        closing = true
        if let socket = context.channel as? SocketOptionProvider {
            _ = socket.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        }
        context.close(promise: nil)
    }

    /// The engine's tally is per thread: whichever connection of the thread flushes it adds
    /// every connection's counts (all on this thread, so no race).
    private func flushCounts() {
        guard let s = unflushed else { return }
        unflushed = nil
        if s.engine.tally.pending > 0 { counters.add(s.engine.tally) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        closing = true
        context.close(promise: nil)
    }
}
