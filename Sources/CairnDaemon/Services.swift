import Foundation
import SnapshotService
import DNSService
import HealthService
import DrillService
import AdminService
import GSLBCore
import GSLBStore
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

// The daemon's parts as `Service`s. A part that owns threads (the UDP workers, the probe loop, the store watcher)
// is still a service: its `run()` waits for the graceful shutdown, then stops and joins them.

/// Reads the store's change token and publishes a snapshot when it moved (`StoreWatcher`),
/// every `interval` seconds; on PostgreSQL also as soon as another node or process notifies a write
/// (`LISTEN cairn_changes`), the periodic check staying the safety net.
struct StoreWatcherService: Service {
    let publisher: SnapshotPublisher
    let store: Store
    let interval: Double

    func run() async throws {
        let watcher = StoreWatcher(publisher: publisher, interval: interval)
        if store.notifiesChanges {
            let queue = DispatchQueue(label: "cairn.store.notify")
            // Reading the store blocks: on a queue of its own, never in the listening task.
            await cancelWhenGracefulShutdown {
                await store.listenForChanges { queue.async { publisher.refreshIfChanged() } }
            }
        } else {
            try? await gracefulShutdown()
        }
        watcher.stop()
    }
}

/// The DNS listeners, bound (as root) before the group runs. On shutdown: stop accepting TCP, write every answer
/// of the open TCP connections, close them, stop the UDP workers.
struct DNSService: Service {
    let server: DNSServer

    func run() async throws {
        try? await gracefulShutdown()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            // Blocking joins: off the cooperative pool.
            DispatchQueue.global().async {
                server.shutdown(grace: .seconds(1))
                done.resume()
            }
        }
    }
}

/// Probing: the scheduler thread and the probe loop (`HealthMonitor.run`), and the probes' event loop.
struct HealthService: Service {
    let monitor: HealthMonitor
    let probeGroup: MultiThreadedEventLoopGroup

    func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await monitor.run()
            } onGracefulShutdown: {
                monitor.stop()
            }
        } onCancel: {
            monitor.stop()
        }
        try? await probeGroup.shutdownGracefully()
    }
}

/// Drills: unfinished ones recovered at start, scheduled ones started, running ones driven twice a second.
struct DrillService: Service {
    let drills: DrillRunner

    func run() async throws {
        drills.recover()
        await repeatEvery(0.5) { drills.tick() } failed: { _ in } recovered: {}
        drills.stop()
    }
}

/// Runs `round` every `seconds` until a graceful shutdown. While it throws, `failed` is called once, at the first
/// failure, and `recovered` once it works again: while the store is away every round fails, so one line when that
/// starts and one when it ends.
func repeatEvery(_ seconds: Double, _ round: () async throws -> Void, failed: (any Error) -> Void,
                 recovered: () -> Void) async {
    var failing = false
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
        do {
            try await round()
            if failing { recovered() }
            failing = false
        } catch {
            if !failing { failed(error) }
            failing = true
        }
        try? await cancelWhenGracefulShutdown { try await Task.sleep(nanoseconds: UInt64(seconds * 1e9)) }
    }
}

/// Lifts expired overrides (every 250 ms), each lift audited (`expire`, principal `cairn`).
struct ReaperService: Service {
    let store: Store
    let publisher: SnapshotPublisher
    let logger: Logger

    func run() async throws {
        await repeatEvery(0.25) {
            let lifted = try store.expireOverrides(now: Date().timeIntervalSince1970, principal: "cairn")
            for o in lifted {
                logger.notice("override \(o.id ?? 0) expired: \(o.scope.rawValue) \(o.target) no longer forced \(o.state.rawValue)", metadata: ["event": "override.expired"])
            }
            if !lifted.isEmpty { publisher.refreshIfChanged() }
        } failed: { error in
            logger.error("cannot expire overrides (retrying every 250 ms): \(error)", metadata: ["event": "override.expiry_failed"])
        } recovered: {
            logger.info("overrides expire again", metadata: ["event": "override.expiry_recovered"])
        }
    }
}

/// Health history retention: `health_history` rows (one per member transition) older than `retention` seconds are
/// deleted at start and then every `interval` seconds, off the DNS path, so that a flapping member cannot grow the
/// store without bound. Any number of nodes may do it on one store: it is a DELETE by time.
struct HealthHistoryRetentionService: Service {
    let store: Store
    let retention: Double
    let interval: Double
    let logger: Logger

    func run() async throws {
        await repeatEvery(interval) {
            let pruned = try await prune(before: Date().timeIntervalSince1970 - retention)
            if pruned > 0 {
                logger.info("health history: \(pruned) rows older than \(TimeSpan.text(seconds: retention)) pruned",
                            metadata: ["event": "health.history_pruned", "rows": "\(pruned)"])
            }
        } failed: { error in
            logger.warning("cannot prune the health history (retrying every \(TimeSpan.text(seconds: interval))): \(error)",
                           metadata: ["event": "health.history_prune_failed"])
        } recovered: {
            logger.info("health history is pruned again", metadata: ["event": "health.history_prune_recovered"])
        }
    }

    /// A large backlog takes a while (batches of 10,000 rows): on a queue of its own, not a cooperative thread.
    private func prune(before time: Double) async throws -> Int {
        try await withCheckedThrowingContinuation { done in
            DispatchQueue.global(qos: .utility).async { [store] in
                done.resume(with: Result { try store.pruneHealthHistory(before: time) })
            }
        }
    }
}

/// SIGHUP rereads the zone files; with `--pid-file`, each reload's outcome goes to `PIDFILE.reload` for `cairn reload`.
struct ReloadOnHangupService: Service {
    let publisher: SnapshotPublisher
    let logger: Logger
    var resultFile: String?

    func run() async throws {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "cairn.signals"))
        let reloads = Mutex(0)
        source.setEventHandler { [publisher, logger, resultFile] in
            logger.info("SIGHUP: reloading zones", metadata: ["event": "zone.reload_requested"])
            let report = publisher.reload()
            let sequence = reloads.withLock { n -> Int in n += 1; return n }
            guard let resultFile else { return }
            let result = ReloadResult(sequence: sequence, time: RFC3339.format(Date().timeIntervalSince1970),
                                      generation: report.generation, zones: report.zones.count, errors: report.errors)
            do {
                try result.write(to: resultFile)
            } catch {
                logger.warning("cannot write the reload result to \(resultFile): \(error)", metadata: ["event": "zone.reload_result_failed"])
            }
        }
        source.resume()
        try? await gracefulShutdown()
        source.cancel()
    }
}

/// An HTTP listener: the admin API (Hummingbird's `Application` runs inside it and sees the group's graceful shutdown:
/// it stops accepting and lets the requests it has started finish) or the token-less `/metrics` of `--metrics`.
/// `serve` serves until shutdown and reports its bound address once; an error before that report is a bind failure,
/// thrown as a `ListenError` naming `flag`.
struct HTTPListenerService: Service {
    /// `API` or `metrics`, and the flag that gives its address.
    let listener: String
    let flag: String
    let address: String
    let onBound: @Sendable (String) -> Void
    let serve: @Sendable (@escaping @Sendable (String, Int) -> Void) async throws -> Void

    func run() async throws {
        let bound = BoundFlag()
        do {
            try await serve { host, port in
                bound.set()
                onBound(hostPort(host, port))
            }
        } catch where !bound.isSet {
            throw ListenError(address: address, listener: listener, flag: flag, reason: DNSServerError.reason(error))
        }
    }
}

/// Set once a listener reports its address: an error after that is not a bind failure.
final class BoundFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// The admin API's or the `--metrics` listener's address could not be bound: `cannot bind 127.0.0.1:9053 (API, --api):
/// address already in use` names the flag to change.
public struct ListenError: Error, CustomStringConvertible {
    public let address: String
    public let listener: String
    public let flag: String
    public let reason: String
    public var description: String { "cannot bind \(address) (\(listener), \(flag)): \(reason)" }
}

/// The node registry: every `interval` seconds this node's row (its heartbeat) is written and the others' are read,
/// so that health quorum counts the live nodes. On shutdown the row says the node stopped (it stops counting at once).
/// On SQLite (one node; any commit there makes every reader reload) the row is written at start and stop only.
struct NodeRegistryService: Service {
    let store: Store
    let publisher: SnapshotPublisher
    let interval: Double
    let logger: Logger
    let record: @Sendable () -> NodeRecord

    func run() async throws {
        let shared = store.notifiesChanges
        var first = true
        await repeatEvery(interval) {
            let own = record()
            if shared || first { try store.heartbeat(own) }
            publisher.updateRegistry(shared ? try store.listNodes() : [], own: own)
            first = false
        } failed: { error in
            // The store is away (logged by the watcher) or the registry is full: say it once.
            logger.warning("node registry: cannot record the heartbeat: \(error)", metadata: ["event": "node.heartbeat_failed"])
        } recovered: {
            logger.info("node registry: heartbeat recorded again", metadata: ["event": "node.heartbeat_recovered"])
        }
        var last = record()
        last.stoppedAt = last.heartbeat
        try? store.heartbeat(last)
    }
}

/// DNSSEC key rollovers (docs/dnssec.md "Key rollover"): once a second, off the query path, the snapshot's keys
/// are checked for a step due by the clock (a published key to put to use, a retired one to remove) or a next
/// step time not yet shown; only then is the store written (every step a conditional update: any node may take
/// it, one does) and the new snapshot published. The zone TTLs the timings derive from are read from the
/// snapshot once per zone load.
struct DNSSECRolloverService: Service {
    let store: Store
    let publisher: SnapshotPublisher
    let logger: Logger

    func run() async throws {
        var failing = false
        var ttlCache: (index: ObjectIdentifier, ttls: [String: ZoneTTLs?])? = nil
        var unserved: Set<String> = []
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let snapshot = publisher.box.load()
            let keys = snapshot.gslb.dnssecKeys
            if keys.contains(where: { $0.state != .active }) {
                let index = ObjectIdentifier(snapshot.zoneIndex)
                if ttlCache?.index != index { ttlCache = (index, [:]) }
                func ttls(_ zone: String) -> ZoneTTLs? {
                    if let known = ttlCache?.ttls[zone] { return known }
                    let t = snapshot.rolloverTTLs(zone: zone)
                    ttlCache?.ttls[zone] = .some(t)
                    // A rollover waits on the zone's TTLs: a zone this node does not serve stays where it is here.
                    if t == nil, unserved.insert(zone).inserted {
                        logger.warning("DNSSEC rollover of \(zone) waits: this node does not serve the zone (no zone file)",
                                       metadata: ["event": "dnssec.rollover_unserved"])
                    } else if t != nil {
                        unserved.remove(zone)
                    }
                    return t
                }
                do {
                    let steps = try store.advanceRollovers(keys: keys, ttls: ttls, now: Date().timeIntervalSince1970)
                    for line in steps { logger.notice("DNSSEC rollover: \(line)", metadata: ["event": "dnssec.rollover_step"]) }
                    if !steps.isEmpty { publisher.refreshIfChanged() }
                    if failing { logger.info("DNSSEC rollovers advance again", metadata: ["event": "dnssec.rollover_recovered"]) }
                    failing = false
                } catch {
                    if !failing {
                        logger.error("cannot advance DNSSEC rollovers (retrying every second): \(error)",
                                     metadata: ["event": "dnssec.rollover_failed"])
                    }
                    failing = true
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(nanoseconds: 1_000_000_000) }
        }
    }
}

/// What one SIGHUP reload did, in `PIDFILE.reload` (JSON), read by `cairn reload` to wait for the outcome
/// (docs/operations.md). `sequence` counts the reloads of this process (0: none yet).
public struct ReloadResult: Codable, Sendable, Equatable {
    public var sequence: Int
    public var time: String?
    public var generation: UInt64?
    public var zones: Int?
    public var errors: [String]

    public init(sequence: Int, time: String? = nil, generation: UInt64? = nil, zones: Int? = nil, errors: [String] = []) {
        self.sequence = sequence; self.time = time; self.generation = generation; self.zones = zones; self.errors = errors
    }

    /// The result file of a pid file.
    public static func path(pidFile: String) -> String { pidFile + ".reload" }

    /// Rewrites the file in place (it was created, and given to `--user`'s account, before the privilege drop; the
    /// directory may not be the account's): a reader that catches it half written retries.
    func write(to path: String) throws {
        let data = try JSONEncoder().encode(self) + Data("\n".utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DaemonError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw DaemonError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    /// The file's result, or nil while it is missing, half written or unreadable.
    public static func read(_ path: String) -> ReloadResult? {
        FileManager.default.contents(atPath: path).flatMap { try? JSONDecoder().decode(ReloadResult.self, from: $0) }
    }
}
