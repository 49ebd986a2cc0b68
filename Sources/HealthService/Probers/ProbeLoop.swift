import CNetShim
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A prober that can report through a callback instead of a task per probe: the health scheduler
/// starts plain TCP and HTTP probes this way, and their verdicts arrive on the probe loop's thread.
public protocol ProbeStarter: Sendable {
    /// Starts the probe of `spec` and returns true: `done` is then called exactly once, on some other
    /// thread or (for a verdict known at once, such as a bad option) before `start` returns.
    /// Returns false, without calling `done`, when this prober cannot start it this way (use `probe`).
    func start(_ spec: ProbeSpec, done: @escaping @Sendable (ProbeResult) -> Void) -> Bool
}

extension ProbeStarter {
    /// `start` awaited; nil when it declined.
    func probeThroughStart(_ spec: ProbeSpec) async -> ProbeResult? {
        await withCheckedContinuation { (c: CheckedContinuation<ProbeResult?, Never>) in
            if !start(spec, done: { c.resume(returning: $0) }) { c.resume(returning: nil) }
        }
    }
}

/// The probe loop: one thread (`cairn-probe`) running epoll over non-blocking sockets with a timer
/// heap, in CNetShim (`cairn_probe.h`). It does the I/O of plain TCP and HTTP probes; the verdicts
/// are the same `StreamResponseReader`s the SwiftNIO path uses, called on the loop thread. No task,
/// channel, pipeline or promise per probe: that is what made a probe cost ~200 µs of CPU.
///
/// `CAIRN_PROBE_ENGINE=nio` turns it off (every probe then takes the SwiftNIO path);
/// `CAIRN_PROBE_NICE` (default 2) is how much lower than the process the loop thread's priority is.
final class ProbeLoop: @unchecked Sendable {
    /// The process's loop, started on first use; nil when turned off or when its thread cannot start.
    static let shared: ProbeLoop? = ProbeLoop.make()

    /// Nice increment of the loop thread when `CAIRN_PROBE_NICE` is not set.
    static let defaultNice: Int32 = 2

    /// How much lower than the process's the priority of the probe loop and the health scheduler is.
    static let niceIncrement: Int32 = max(0, getenv("CAIRN_PROBE_NICE").flatMap { Int32(String(cString: $0)) } ?? defaultNice)

    private let raw: OpaquePointer

    private init(raw: OpaquePointer) { self.raw = raw }

    private static func make() -> ProbeLoop? {
        if let engine = getenv("CAIRN_PROBE_ENGINE").map({ String(cString: $0) }), engine.lowercased() == "nio" { return nil }
        let raw = cairn_probe_loop_start({ ctx, event, err, data, len in
            guard let ctx else { return 1 }
            let probe = Unmanaged<LoopProbeBase>.fromOpaque(ctx).takeUnretainedValue()
            guard probe.event(event, err, UnsafeRawBufferPointer(start: data, count: len)) else { return 0 }
            Unmanaged<LoopProbeBase>.fromOpaque(ctx).release()
            return 1
        }, niceIncrement)
        return raw.map { ProbeLoop(raw: $0) }
    }

    /// Connects to `address` (an IP literal), writes `request`, lets `reader` judge what comes back,
    /// within `timeoutMs`. False when `address` is not a literal (the caller resolves it the NIO way).
    func start<Reader: StreamResponseReader>(address: String, port: Int, timeoutMs: Int, request: [UInt8], reader: Reader,
                                             done: @escaping @Sendable (ProbeResult) -> Void) -> Bool {
        let timeoutMs = max(1, timeoutMs)
        let probe = LoopProbe(reader: reader, timeoutMs: timeoutMs, done: done)
        let ctx = Unmanaged.passRetained(probe as LoopProbeBase).toOpaque()
        let rc = request.withUnsafeBufferPointer { req in
            cairn_probe_submit(raw, address, Int32(clamping: port), Int32(clamping: timeoutMs), req.baseAddress, req.count, ctx)
        }
        if rc != 0 {
            Unmanaged<LoopProbeBase>.fromOpaque(ctx).release()
            return false
        }
        return true
    }
}

/// One probe on the loop, seen only from the loop thread after submission.
class LoopProbeBase {
    /// True once the probe has its verdict (then `done` has been called).
    func event(_ event: Int32, _ err: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool { true }
}

final class LoopProbe<Reader: StreamResponseReader>: LoopProbeBase {
    private var reader: Reader
    private let start = NIODeadline.now()
    private let timeoutMs: Int
    /// What the probe is doing, for the timeout detail (as `ProbeCompletion.phase`).
    private var phase = "connecting"
    private let done: @Sendable (ProbeResult) -> Void

    init(reader: Reader, timeoutMs: Int, done: @escaping @Sendable (ProbeResult) -> Void) {
        self.reader = reader
        self.timeoutMs = timeoutMs
        self.done = done
    }

    override func event(_ event: Int32, _ err: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let verdict: ProbeVerdict?
        switch event {
        case Int32(CAIRN_PROBE_CONNECTED):
            verdict = reader.connected()
            if verdict == nil { phase = "waiting for \(reader.waitingFor)" }
        case Int32(CAIRN_PROBE_SENT): verdict = reader.sent()
        case Int32(CAIRN_PROBE_READ): verdict = reader.read(bytes)
        case Int32(CAIRN_PROBE_CLOSED): verdict = reader.closed()
        case Int32(CAIRN_PROBE_CONNECT_ERROR): verdict = .down("connect: " + ProbeErrorText.errnoText(err))
        case Int32(CAIRN_PROBE_READ_ERROR): verdict = .down("read: " + ProbeErrorText.errnoText(err))
        case Int32(CAIRN_PROBE_TIMEOUT): verdict = .timeout(timeoutMs, phase)
        default: verdict = .down("probe failed")
        }
        guard let verdict else { return false }
        done(verdict.result(since: start))
        return true
    }
}
