import CNetShim
import DNSWire
import Foundation
import GSLBCore
import Logging
import Synchronization
import SnapshotService

/// The UDP hot path: one socket per worker (SO_REUSEPORT), each served by a
/// dedicated thread doing recvmmsg → AnswerEngine → sendmmsg. No locks, no
/// allocation beyond what the engine needs, no logging per query.
final class UDPListener: @unchecked Sendable {
    let fd: Int32
    let box: SnapshotBox
    let maxUDPPayload: Int
    let identity: ServerIdentity
    let cookies: ServerCookies?
    let rateLimiter: ResponseRateLimiter?
    let counters: QueryCounters
    private let stopping = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    init(fd: Int32, box: SnapshotBox, maxUDPPayload: Int, identity: ServerIdentity = .none, cookies: ServerCookies? = nil,
         rateLimiter: ResponseRateLimiter? = nil, counters: QueryCounters) {
        self.identity = identity
        self.rateLimiter = rateLimiter
        self.cookies = cookies
        self.fd = fd
        self.box = box
        self.maxUDPPayload = maxUDPPayload
        self.counters = counters
    }

    /// Starts the worker thread, pinned to `cpu` when given (`cairn serve --udp-cpus`).
    func start(name: String, cpu: Int? = nil) {
        NamedThread.start(name, stackSize: 1 << 20, cpu: cpu) { [self] in self.run() }
    }

    private func run() {
        defer { done.signal() }
        let slots = 32
        let slotSize = max(4096, maxUDPPayload)
        guard let batch = cairn_batch_new(Int32(slots), Int32(slotSize)) else { return }
        defer { cairn_batch_free(batch) }
        let engine = AnswerEngine(maxUDPPayload: maxUDPPayload, identity: identity, cookies: cookies,
                                  rateLimiter: rateLimiter)
        var reader = SnapshotReader(box)
        let tally = engine.tally
        var flush = FlushPolicy()
        while !stopping.load(ordering: .relaxed) {
            let n = cairn_batch_recv(fd, batch)
            if n <= 0 {
                if n < 0 && stopping.load(ordering: .relaxed) { break }
                if tally.pending > 0 { flush.flush(tally, into: counters) }
                // Idle (the 0.5 s receive timeout): move to the newest snapshot, so that a replaced one (a whole zone
                // index after a reload) is not held until the next packet.
                _ = reader.refresh()
                continue
            }
            let snapshot = reader.refresh()
            for i in 0..<Int(n) {
                var len: Int32 = 0
                guard let inp = cairn_batch_in(batch, Int32(i), &len), len > 0 else {
                    // Oversized (cut) datagrams are not queries we can answer: drop.
                    tally.countDropped(.udp)
                    continue
                }
                let out = cairn_batch_out(batch, Int32(i))!
                let q = UnsafeRawBufferPointer(start: inp, count: Int(len))
                let o = UnsafeMutableRawBufferPointer(start: out, count: slotSize)
                var hi: UInt64 = 0, lo: UInt64 = 0
                let fam = cairn_batch_peer_addr(batch, Int32(i), &hi, &lo)
                let client = ClientAddress(family: UInt8(truncatingIfNeeded: fam), hi: hi, lo: lo)
                let r = engine.respond(to: q, transport: .udp, snapshot: snapshot, client: client, into: o)
                cairn_batch_set_reply(batch, Int32(i), Int32(r))
            }
            _ = cairn_batch_send(fd, batch, n)
            if flush.due(tally) { flush.flush(tally, into: counters) }
        }
        flush.flush(tally, into: counters)
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        shutdown(fd, Int32(SHUT_RDWR))
        _ = done.wait(timeout: .now() + 2)
        close(fd)
    }
}
