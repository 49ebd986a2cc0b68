import DNSWire
import GSLBCore
@testable import DNSService
import SnapshotService
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing

/// `DNSTCPHandler` on an `EmbeddedChannel`: framing, the cap on answers in flight, reading
/// only while writable, the write timeout and the idle timeout, on the loop's virtual
/// clock. The process-level test (IntegrationTests/DNSTCPLimitsTests) measures memory.
@Suite struct DNSTCPHandlerTests {
    /// Stands for a socket whose peer does not read: it keeps the writes that reach it, and
    /// their promises stay pending until `release()`. Counts the reads that get through.
    final class StuckSocket: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var held: [(ByteBuffer, EventLoopPromise<Void>?)] = []
        var reads = 0

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            held.append((unwrapOutboundIn(data), promise))
        }
        func flush(context: ChannelHandlerContext) {}
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
        /// The peer read everything held so far.
        func release() {
            let batch = held
            held = []
            for (_, p) in batch { p?.succeed() }
        }
    }

    struct Rig {
        let channel = EmbeddedChannel()
        let socket = StuckSocket()
        var loop: EmbeddedEventLoop { channel.embeddedEventLoop }

        init(stuck: Bool, maxInFlight: Int = 4, idle: TimeAmount = .seconds(10), write: TimeAmount = .seconds(4)) throws {
            let handler = DNSTCPHandler(box: SnapshotBox(), scratch: ThreadSpecificVariable<TCPScratch>(),
                                        configuration: DNSServerConfiguration(tcpIdleTimeout: idle, tcpWriteTimeout: write),
                                        table: TCPConnectionTable(maxConnections: 8), counters: QueryCounters(),
                                        maxQueriesInFlight: maxInFlight)
            if stuck { try channel.pipeline.syncOperations.addHandler(socket) }
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 5353)).wait()
        }

        func queries(_ ids: Range<UInt16>) throws -> ByteBuffer {
            var b = channel.allocator.buffer(capacity: 64 * ids.count)
            for id in ids {
                let q = QueryBuilder.make(id: id, name: try DomainName("a.example."), type: .a)
                b.writeInteger(UInt16(q.count))
                b.writeBytes(q)
            }
            return b
        }

        /// Ids of the answers written to the channel (not stuck), in order.
        func answeredIDs() throws -> [UInt16] {
            var ids: [UInt16] = []
            while let b = try channel.readOutbound(as: ByteBuffer.self) { ids.append(Self.id(b)) }
            return ids
        }

        static func id(_ b: ByteBuffer) -> UInt16 { b.getInteger(at: b.readerIndex + 2, as: UInt16.self) ?? 0 }
    }

    @Test func queriesSplitAcrossReadsAreAnsweredInOrder() throws {
        let rig = try Rig(stuck: false)
        var all = try rig.queries(1..<4)
        let cuts = [1, 7, all.readableBytes / 2, all.readableBytes - 1]
        var at = 0
        for c in cuts + [all.readableBytes] where c > at {
            try rig.channel.writeInbound(all.getSlice(at: at, length: c - at)!)
            at = c
        }
        all.moveReaderIndex(to: all.writerIndex)
        #expect(try rig.answeredIDs() == [1, 2, 3])
        #expect(rig.channel.isActive)
    }

    @Test func answersInFlightAreCappedAndReadingWaitsForThem() throws {
        let rig = try Rig(stuck: true, maxInFlight: 4)
        try rig.channel.writeInbound(try rig.queries(0..<10))
        #expect(rig.socket.held.map { Rig.id($0.0) } == [0, 1, 2, 3])
        let reads = rig.socket.reads
        rig.channel.read()
        #expect(rig.socket.reads == reads, "read while 4 answers are in flight")

        rig.socket.release()
        #expect(rig.socket.held.map { Rig.id($0.0) } == [4, 5, 6, 7])
        rig.socket.release()
        #expect(rig.socket.held.map { Rig.id($0.0) } == [8, 9])
        #expect(rig.socket.reads == reads + 1, "the read asked for meanwhile goes through once unblocked")
    }

    @Test func nothingIsAnsweredOrReadWhileTheChannelIsNotWritable() throws {
        let rig = try Rig(stuck: true, maxInFlight: 100)
        rig.channel.isWritable = false
        try rig.channel.writeInbound(try rig.queries(0..<3))
        rig.channel.read()
        #expect(rig.socket.held.isEmpty)
        #expect(rig.socket.reads == 0)

        rig.channel.isWritable = true
        rig.channel.pipeline.fireChannelWritabilityChanged()
        #expect(rig.socket.held.map { Rig.id($0.0) } == [0, 1, 2])
        #expect(rig.socket.reads == 1)
    }

    @Test func pendingAnswersWithoutProgressAreClosedByTheWriteTimeout() throws {
        let rig = try Rig(stuck: true, idle: .seconds(60), write: .seconds(4))
        try rig.channel.writeInbound(try rig.queries(0..<10))
        rig.loop.advanceTime(by: .seconds(3))
        #expect(rig.channel.isActive)
        // Queries keep coming, answers do not drain: the connection is not kept open.
        try rig.channel.writeInbound(try rig.queries(10..<20))
        rig.loop.advanceTime(by: .seconds(4))
        #expect(!rig.channel.isActive)
    }

    @Test func progressKeepsAConnectionOpen() throws {
        let rig = try Rig(stuck: true, idle: .seconds(60), write: .seconds(4))
        try rig.channel.writeInbound(try rig.queries(0..<40))
        for _ in 0..<6 {
            rig.loop.advanceTime(by: .seconds(3))
            rig.socket.release()   // a slow reader: something every 3 s
        }
        #expect(rig.channel.isActive)
    }

    @Test func theIdleTimeoutIsAboutAClientThatSendsNothing() throws {
        let rig = try Rig(stuck: false, idle: .seconds(10))
        try rig.channel.writeInbound(try rig.queries(0..<1))
        #expect(try rig.answeredIDs() == [0])
        rig.loop.advanceTime(by: .seconds(9))
        try rig.channel.writeInbound(try rig.queries(1..<2))
        rig.loop.advanceTime(by: .seconds(9))
        #expect(rig.channel.isActive, "a query 9 s ago")
        // Half a query is not a query.
        var half = try rig.queries(2..<3)
        try rig.channel.writeInbound(half.readSlice(length: 5)!)
        rig.loop.advanceTime(by: .seconds(2))
        #expect(!rig.channel.isActive)
    }
}
