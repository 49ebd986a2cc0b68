import Foundation
import GSLBCore
import SnapshotService
import DNSService
import HealthService
import DrillService
import AdminService
import CNetShim
import GSLBStore
import GeoIP
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Everything `cairn serve` needs, typed: what its flags say once parsed and checked.
public struct DaemonConfiguration: Sendable {
    public var zones: String
    /// The SQLite file of `--db` (used when `store` is nil, and for the `--user` file checks).
    public var db: String
    /// `--store`: where the store is; nil = the SQLite file `db`.
    public var store: StoreLocation?
    public var dns: DNSServerConfiguration
    /// nil: no admin API.
    public var api: AdminAPIConfiguration?
    /// `--metrics`: where `/metrics` is served without a token; nil: nowhere but the admin API.
    public var metrics: (host: String, port: Int)?
    public var probeConcurrency: Int
    public var allowCommandMonitors: Bool
    /// Written with the process id once the listeners are bound; removed on stop.
    public var pidFile: String?
    /// `--user`: after binding, run as this account for good (`Privileges`).
    public var user: Privileges.Account?
    /// How often the store's change token is read (on PostgreSQL the safety net of `LISTEN/NOTIFY`).
    public var storePollInterval: Double
    /// `--node-name`: this node's name in the registry and in the audit rows of the writes it makes (default: the host name).
    public var nodeName: String
    /// `--store-cache`: the local copy of the last state served (PostgreSQL stores only); nil: none.
    public var storeCache: String?
    /// `--node-heartbeat`: how often the node refreshes its registry row and reads the others'.
    public var nodeHeartbeat: Double
    /// `--node-gone-after`: a node silent this long is gone (its observations stop counting for quorum).
    public var nodeGoneAfter: Double
    /// `--drill-require-reason`: refuse drills started without a reason and a ticket.
    public var drillRequireReason = false
    /// `--geoip-dir`: the directory the configuration's GeoIP database (`geoip.database`) must be in.
    public var geoipDirectory = "/var/lib/GeoIP"
    /// `--health-history-retention`: `health_history` rows older than this (seconds) are pruned, at start and hourly.
    public var healthHistoryRetention = DaemonConfiguration.defaultHealthHistoryRetention
    /// 30 days.
    public static let defaultHealthHistoryRetention: Double = 30 * 86_400
    /// How often the health history is pruned after the start.
    public static let healthHistoryPruneInterval: Double = 3600

    public init(zones: String, db: String, store: StoreLocation? = nil, dns: DNSServerConfiguration, api: AdminAPIConfiguration?,
                probeConcurrency: Int = 2048, allowCommandMonitors: Bool = false, pidFile: String? = nil,
                user: Privileges.Account? = nil, storePollInterval: Double = 0.2,
                nodeName: String = ProcessInfo.processInfo.hostName, nodeHeartbeat: Double = 2, nodeGoneAfter: Double = 10,
                storeCache: String? = nil) {
        self.storeCache = storeCache
        self.nodeName = nodeName
        self.nodeHeartbeat = nodeHeartbeat
        self.nodeGoneAfter = nodeGoneAfter
        self.zones = zones; self.db = db; self.store = store; self.dns = dns; self.api = api; self.probeConcurrency = probeConcurrency
        self.allowCommandMonitors = allowCommandMonitors; self.pidFile = pidFile; self.user = user
        self.storePollInterval = storePollInterval
    }

    /// Where the store is: `store`, else the SQLite file `db`.
    public var storeLocation: StoreLocation { store ?? .sqlite(path: db) }
    /// The SQLite file of the store, nil on PostgreSQL.
    var sqliteFile: String? { storeLocation.sqlitePath }
}

public struct DaemonError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// The whole daemon as one `ServiceGroup`: the store watcher (snapshot publisher), the DNS listeners, health
/// monitoring, drills, the override reaper, the health history pruning, the DNSSEC rollover task and the admin API, started in that order and shut down in reverse on
/// SIGTERM or SIGINT (graceful: the API stops accepting and finishes what it started, DNS over TCP writes every
/// answer in flight, the store is closed last). SIGHUP rereads the zone files.
///
/// `make` does the root phase synchronously: it opens the store, builds the first snapshot and binds DNS (port 53
/// needs root), writes the pid file and, with `--user`, drops privileges for good. Nothing that accepts an API
/// request or runs a probe exists before that; `run()` starts it all.
public final class Daemon: Sendable {
    public let configuration: DaemonConfiguration
    public let store: Store
    public let publisher: SnapshotPublisher
    public let server: DNSServer
    public let monitor: HealthMonitor
    public let drills: DrillRunner
    public let admin: AdminAPI?
    /// The token-less `/metrics` listener of `--metrics`.
    public let metricsEndpoint: MetricsEndpoint?
    /// The DNS listeners as bound (port 0 resolved).
    public var dnsBound: [BoundAddress] { server.bound }
    let logger: Logger
    let probeGroup: MultiThreadedEventLoopGroup
    private let apiBoundBox = Mutex<String?>(nil)
    private let groupBox = Mutex<ServiceGroup?>(nil)

    /// `HOST:PORT` of the admin API once it listens.
    public var apiBound: String? { apiBoundBox.withLock { $0 } }

    /// The root phase (see the type's comment). Throws `DaemonError` naming what failed; nothing is left running.
    public static func make(_ config: DaemonConfiguration, logger: Logger = Logger(label: "cairn")) throws -> Daemon {
        // Blocks of 1 MiB or more (a zone build's working tables, the parsed records' array) go back to the
        // system when freed: a reload's peak is then the zone served plus the one built (docs/benchmarks.md).
        cairn_map_large_allocations(1 << 20)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: config.zones, isDirectory: &isDir), isDir.boolValue else {
            throw DaemonError("--zones: \(config.zones) is not a directory")
        }
        if config.user != nil, let file = config.sqliteFile {
            // Root opens the store by path: not through a link or a second name the service user may have planted.
            try Privileges.refuseUnsafeFiles(Privileges.storeFiles(db: file))
        }
        // PostgreSQL: the last state served is kept in a local file, to start from while the database is away.
        let cache = config.sqliteFile == nil ? config.storeCache.map { FileStateCache(path: $0, logger: logger) } : nil
        let store: Store
        do {
            store = try Store(location: config.storeLocation, node: config.nodeName,
                              waitForDatabase: cache.map { FileManager.default.fileExists(atPath: $0.path) } ?? false)
        } catch {
            throw DaemonError("cannot open the store \(config.storeLocation): \(error)")
        }
        let publisher = SnapshotPublisher(source: ZoneDirectorySource(directory: config.zones), repository: store,
                                          nodeName: config.nodeName, goneAfter: config.nodeGoneAfter, cache: cache,
                                          geo: GeoDatabaseSource(directory: config.geoipDirectory,
                                                                 logger: Logger(label: "cairn.geoip")))
        let report = publisher.reload()
        for z in report.zones { logger.info("serving zone \(z.origin) serial \(z.serial) from \(z.source)", metadata: ["event": "zone.loaded"]) }
        if !config.allowCommandMonitors {
            for m in publisher.box.load().gslb.config.commandMonitors.sorted(by: { $0.name < $1.name }) {
                logger.warning("command monitor \(m.name) does not run (its members are reported down): start cairn serve with --allow-command-monitors to run it", metadata: ["event": "monitor.command_off"])
            }
        }

        // Health: probes run on their own event loops, never on the DNS threads.
        let probeGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let persist = DispatchQueue(label: "cairn.health.persist")
        // Health changes are served at once, then stored on a queue of their own.
        let apply: @Sendable ([MemberHealth], Bool) -> Void = { changes, endColdStart in
            publisher.applyHealth(changes, endColdStart: endColdStart)
            persist.async {
                do { try store.recordHealth(contentsOf: changes, node: config.nodeName) } catch { logger.error("cannot store health: \(error)", metadata: ["event": "health.store_failed"]) }
            }
        }
        let monitor = HealthMonitor(
            box: publisher.box, prober: MonitorProber(group: probeGroup, allowCommands: config.allowCommandMonitors),
            options: .init(maxConcurrency: config.probeConcurrency, node: config.nodeName),
            onColdStartEnd: { all in apply(all, true) },
            onChange: { changes, _ in apply(changes, false) })

        let server = DNSServer(configuration: config.dns, box: publisher.box)
        do { try server.start() } catch {
            try? probeGroup.syncShutdownGracefully()
            throw DaemonError("\(error)")
        }
        let drills = DrillRunner(repository: store, publisher: publisher, injector: monitor, listener: {
            server.bound.first { $0.transport == "udp" }.map { ($0.host, $0.port) }
        }, node: config.nodeName, shared: store.notifiesChanges, answerCounts: { server.counters.totalsNow.answers },
           requireReason: config.drillRequireReason)
        if let pidFile = config.pidFile {
            try "\(getpid())\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
            // Where SIGHUP reloads report for `cairn reload`: made now, so that --user's account can write it.
            try ReloadResult(sequence: 0).write(to: ReloadResult.path(pidFile: pidFile))
        }
        // Everything that needs root is done (DNS sockets bound, store open): drop for good, before the admin API
        // accepts a request and before any probe, drill or reaper runs.
        if let account = config.user {
            do {
                let warnings = try Privileges.prepareFiles((config.sqliteFile.map(Privileges.storeFiles(db:)) ?? [])
                                                           + (config.pidFile.map { [$0, ReloadResult.path(pidFile: $0)] } ?? []),
                                                           for: account)
                for w in warnings { logger.warning("\(w)", metadata: ["event": "privileges.file_warning"]) }
                try Privileges.drop(to: account)
                logger.notice("running as \(account): no capabilities, NoNewPrivs set", metadata: ["event": "privileges.dropped"])
            } catch {
                server.stop()
                throw DaemonError("cannot drop privileges: \(error)")
            }
        }
        let renderer = Metrics(dns: server, publisher: publisher, health: monitor)
        let metrics: @Sendable () -> String = { renderer.render() }   // the /metrics text
        let metricsEndpoint = config.metrics.map { m in
            // A scraper or two, not a crowd: 64 connections, 16 per address, the API's deadlines.
            var limits = config.api?.connections ?? .init()
            limits.maxConnections = 64
            limits.maxConnectionsPerAddress = 16
            return MetricsEndpoint(host: m.host, port: m.port, connections: limits, metrics: metrics)
        }
        let admin = config.api.map { api in
            AdminAPI(configuration: api, repository: store, publisher: publisher, health: monitor, drills: drills,
                     metrics: metrics,
                     readiness: Readiness(waiting: {
                         var w: [String] = []
                         if server.bound.isEmpty { w.append("dns-listeners") }
                         if publisher.box.generation == 0 { w.append("first-snapshot") }
                         if !monitor.coldStartOver { w.append("first-probe-round") }
                         return w
                     }, degraded: { publisher.storeUp ? [] : ["store"] }))
        }
        return Daemon(configuration: config, store: store, publisher: publisher, server: server, monitor: monitor,
                      drills: drills, admin: admin, metricsEndpoint: metricsEndpoint, logger: logger,
                      probeGroup: probeGroup)
    }

    init(configuration: DaemonConfiguration, store: Store, publisher: SnapshotPublisher, server: DNSServer,
         monitor: HealthMonitor, drills: DrillRunner, admin: AdminAPI?, metricsEndpoint: MetricsEndpoint?,
         logger: Logger, probeGroup: MultiThreadedEventLoopGroup) {
        self.configuration = configuration; self.store = store; self.publisher = publisher; self.server = server
        self.monitor = monitor; self.drills = drills; self.admin = admin; self.metricsEndpoint = metricsEndpoint
        self.logger = logger
        self.probeGroup = probeGroup
    }

    /// Runs every service until SIGTERM or SIGINT (or `shutdown()`), then stops them in reverse order. Returns
    /// normally after a graceful shutdown; throws what made a service fail (the API could not listen, say).
    /// - Parameters:
    ///   - signals: handle SIGTERM/SIGINT (graceful) and SIGHUP (zone reload); off for in-process tests.
    ///   - onAPIBound: `HOST:PORT` once the admin API listens.
    ///   - onMetricsBound: `HOST:PORT` once the `--metrics` listener listens.
    public func run(signals: Bool = true, onAPIBound: @escaping @Sendable (String) -> Void = { _ in },
                    onMetricsBound: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: StoreWatcherService(publisher: publisher, store: store, interval: configuration.storePollInterval)),
            .init(service: DNSService(server: server)),
            .init(service: HealthService(monitor: monitor, probeGroup: probeGroup)),
            .init(service: DrillService(drills: drills)),
            .init(service: ReaperService(store: store, publisher: publisher, logger: logger)),
            .init(service: HealthHistoryRetentionService(store: store, retention: configuration.healthHistoryRetention,
                                                         interval: DaemonConfiguration.healthHistoryPruneInterval, logger: logger)),
            .init(service: DNSSECRolloverService(store: store, publisher: publisher, logger: logger)),
            .init(service: NodeRegistryService(store: store, publisher: publisher, interval: configuration.nodeHeartbeat,
                                               logger: logger, record: { [self] in nodeRecord() })),
        ]
        if signals {
            services.append(.init(service: ReloadOnHangupService(publisher: publisher, logger: logger,
                                                                 resultFile: configuration.pidFile.map(ReloadResult.path(pidFile:)))))
        }
        if let admin {
            let address = hostPort(admin.configuration.host, admin.configuration.port)
            services.append(.init(service: HTTPListenerService(listener: "API", flag: "--api", address: address, onBound: { [self] text in
                apiBoundBox.withLock { $0 = text }
                onAPIBound(text)
            }, serve: admin.run)))
        }
        if let m = metricsEndpoint {
            services.append(.init(service: HTTPListenerService(listener: "metrics", flag: "--metrics", address: hostPort(m.host, m.port),
                                                               onBound: onMetricsBound, serve: m.run)))
        }
        var config = ServiceGroupConfiguration(services: services, logger: logger)
        if signals {
            Self.unblockSignals()
            config.gracefulShutdownSignals = [.sigterm, .sigint]
        }
        let group = ServiceGroup(configuration: config)
        groupBox.withLock { $0 = group }
        defer {
            if let pid = configuration.pidFile {
                try? FileManager.default.removeItem(atPath: pid)
                try? FileManager.default.removeItem(atPath: ReloadResult.path(pidFile: pid))
            }
        }
        try await group.run()
        store.close()   // last: every service that used it has stopped (PostgreSQL: its connections end cleanly)
        logger.info("stopped", metadata: ["event": "shutdown"])
    }

    private static let startedAt = Date().timeIntervalSince1970

    /// This node as the registry shows it, now.
    func nodeRecord() -> NodeRecord {
        let api = apiBound.map { (configuration.api?.tlsCertificate != nil ? "https://" : "http://") + $0 }
        return NodeRecord(name: configuration.nodeName, dns: server.bound.map { "\($0.transport):\(hostPort($0.host, $0.port))" },
                          api: api, version: CairnVersion.current, generation: publisher.box.generation, storeToken: publisher.storeToken,
                          startedAt: Self.startedAt, heartbeat: Date().timeIntervalSince1970)
    }

    /// Starts the graceful shutdown (what SIGTERM does).
    public func shutdown() async {
        await groupBox.withLock { $0 }?.triggerGracefulShutdown()
    }

    /// A parent may have started us with these blocked (the mask is inherited): unblock them.
    static func unblockSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGHUP, SIGTERM, SIGINT] { sigaddset(&set, sig) }
        sigprocmask(SIG_UNBLOCK, &set, nil)
        // The group reads them from dispatch signal sources, which see a signal only while its default action
        // (terminating the process) is off.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
    }
}
