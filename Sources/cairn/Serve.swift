import ArgumentParser
import CairnDaemon
import Foundation
import GSLBCore
import AdminService
import DNSService
import Logging
import Synchronization
import NIOCore

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the zones in a directory over UDP and TCP.")

    @Option(help: ArgumentHelp("Read settings from this YAML file: the long names of these flags as keys; flags and CAIRN_STORE/CAIRN_DB/CAIRN_ZONES win over it (docs/operations.md, \"Settings\").", valueName: "file"))
    var config: String?

    @Option(help: "Directory of RFC 1035 zone files, one `ORIGIN.zone` per zone.")
    var zones: String = "zones"

    @Option(name: .customLong("dns"), help: "HOST:PORT to answer DNS on (UDP and TCP); repeatable; port 0 = ephemeral.")
    var dns: [String] = []

    @Option(help: "UDP sockets (one thread each) per address; 0 = one per core.")
    var udpWorkers: Int = 0

    @Option(help: "Pin the UDP worker threads to these CPUs (1, 0,2, 0-3; worker i of each address on the i-th, round robin), as NSD's cpu-affinity; default: not pinned.")
    var udpCpus: String?

    @Option(help: "Largest UDP response in octets (EDNS payload cap).")
    var maxUdpSize: Int = 1232

    @Option(help: "Seconds a TCP connection stays open without a complete query while no answer of it is pending.")
    var tcpIdleTimeout: Int = 10

    @Option(help: "Seconds a TCP connection stays open while its pending answers make no progress (the client does not read them).")
    var tcpWriteTimeout: Int = 5

    @Option(help: "Open TCP connections at most; past it the longest-idle one is closed.")
    var tcpMaxConnections: Int = 512

    @Option(help: "Open TCP connections from one client address at most; past it that address's longest-idle one is closed (0: no per-address cap).")
    var tcpMaxConnectionsPerAddress: Int = DNSTCPLimits.defaultMaxConnectionsPerAddress

    @Option(help: "The SQLite store of sites, pools, members, topology, health and overrides (created and migrated on start) \(StoreFlag.dbHelp).")
    var db: String?

    @Option(help: StoreFlag.help)
    var store: String?

    @Option(help: "How often the store is checked for changes by other processes or nodes, e.g. 200ms, 5s (on PostgreSQL the safety net of LISTEN/NOTIFY).")
    var storeCheckInterval: String = "200ms"

    @Option(help: "This node's name in the node registry and in the audit row of every write it makes (default: the host name).")
    var nodeName: String?

    @Option(help: "PostgreSQL stores: the local copy of the last configuration and health served, rewritten on each change; a node started while the database is unreachable serves from it (empty = none).")
    var storeCache: String = "cairn.store-cache.json"

    @Option(help: "Directory of the GeoIP database the configuration names (geoip.database: a file in it); the file is opened again when replaced.")
    var geoipDir: String = "/var/lib/GeoIP"

    @Option(help: "How often this node refreshes its row in the node registry and reads the others', e.g. 2s.")
    var nodeHeartbeat: String = "2s"

    @Option(help: "A node without a heartbeat for this long is gone: shown so, and its health observations stop counting for quorum, e.g. 10s.")
    var nodeGoneAfter: String = "10s"

    @Option(help: "Health history (the store's health_history: one row per member state change) older than this is deleted, at start and hourly, e.g. 30d, 12h; 1h to 3650d.")
    var healthHistoryRetention: String = "30d"

    @Option(help: "Probes in flight at most.")
    var probeConcurrency: Int = 2048

    @Flag(help: "Refuse drills started without both a reason and a change or ticket id (docs/drills.md).")
    var drillRequireReason = false

    @Option(help: "Write the process id here (for `cairn reload`); empty = none.")
    var pidFile: String = ""

    @Option(help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "text (TIME LEVEL LABEL: METADATA [SOURCE] MESSAGE), json (one object per line) or journald (text with a <N> syslog priority prefix, for systemd); every line has an event.")
    var logFormat: String = "text"

    @Option(help: "HOST:PORT of the admin API (JSON over HTTP, /metrics, /healthz, /readyz); empty = no API.")
    var api: String = "127.0.0.1:9053"

    @Option(help: "HOST:PORT where /metrics is served without a token (for Prometheus; the admin API's /metrics stays); empty = none.")
    var metrics: String = ""

    @Option(help: "PEM certificate chain for the admin API (TLS).")
    var apiTlsCert: String?

    @Option(help: "PEM private key for the admin API (TLS).")
    var apiTlsKey: String?

    @Flag(help: "Allow the admin API on a non-loopback address without TLS.")
    var insecureApi = false

    @Option(help: "Start as root (to bind port 53), then run as this user: no capabilities, NoNewPrivs (docs/operations.md).")
    var user: String?

    @Flag(help: "Refuse API writes to existing objects (PUT, DELETE) without If-Match with 428, so that no client overwrites a change it has not seen.")
    var apiRequireIfMatch = false

    @Option(help: "Failed API authentications from one address per minute before it gets 429.")
    var apiMaxAuthFailures: Int = 10

    @Option(help: "NSID (RFC 5001) to send to queries that ask for it, as NSD's nsid: an even number of hex digits, or ascii_TEXT (other text is taken as is); default: none.")
    var nsid: String?

    @Option(help: "Answer id.server. and hostname.bind. CH TXT with this text (which node answered); default: REFUSED.")
    var identity: String?

    @Option(help: "Answer version.server. and version.bind. CH TXT with this text; default: REFUSED.")
    var serverVersion: String?

    @Flag(help: "Do not answer DNS cookies (RFC 7873); by default a query's COOKIE option gets an RFC 9018 server cookie back, as BIND does.")
    var noCookies = false

    @Option(help: "File with the cookie secret (32 hex digits) and optionally, on a second line, the previous one (still accepted, for a rotation); every node of a set shares it. Default: a random secret per start.")
    var cookieSecretFile: String?

    @Option(help: "Response rate limiting: UDP responses per second per client network and response class, as NSD's rrl-ratelimit; 0 = off.")
    var rrlRatelimit: Int = RRLConfiguration.defaultRatelimit

    @Option(help: "Every Nth response over the rate limit is sent truncated (TC) so real clients retry over TCP, the others are dropped; 0 = drop all, 1 = truncate all.")
    var rrlSlip: Int = RRLConfiguration.defaultSlip

    @Option(help: "Seconds of responses a quiet client network may send at once (ratelimit × window), then ratelimit per second.")
    var rrlWindow: Int = RRLConfiguration.defaultWindow

    @Option(help: "IPv4 clients are rate limited per network of this prefix length.")
    var rrlIpv4Prefix: Int = RRLConfiguration.defaultIPv4Prefix

    @Option(help: "IPv6 clients are rate limited per network of this prefix length.")
    var rrlIpv6Prefix: Int = RRLConfiguration.defaultIPv6Prefix

    @Option(help: "A client network (CIDR) never rate limited; repeatable.")
    var rrlExempt: [String] = []

    @Option(help: "A response class limited at --rrl-whitelist-ratelimit instead (nxdomain, error, referral, any, rrsig, wildcard, nodata, dnskey, positive, all), as NSD's rrl-whitelist; repeatable.")
    var rrlWhitelist: [String] = []

    @Option(help: "Responses per second per client network for the --rrl-whitelist classes; 0 = those are not limited.")
    var rrlWhitelistRatelimit: Int = RRLConfiguration.defaultWhitelistRatelimit

    @Option(help: "Buckets in the rate-limiting table (8 octets each, allocated at start), as NSD's rrl-size.")
    var rrlTableSize: Int = RRLConfiguration.defaultTableSize

    @OptionGroup(title: "Configuration size (what API writes may grow it to)")
    var limits: LimitOptions

    @Flag(help: "Run `command` monitors (programs, as the server's user) and let admin tokens create and attach them through the API; off by default (docs/security.md).")
    var allowCommandMonitors = false

    @Option(help: "Open admin API connections at most; at the cap a new one closes the oldest that is not inside a request (lowered at start to fit the descriptor limit beside DNS and probes).")
    var apiMaxConnections: Int = 1024

    @Option(help: "Open admin API connections from one address (IPv6: one /64) at most; past it new ones are closed at once.")
    var apiMaxConnectionsPerAddress: Int = 64

    @Option(help: "An admin API request head must be complete within this (10s, 500ms) of the accept, or of its first byte on a kept-alive connection.")
    var apiHeaderTimeout: String = "10s"

    @Option(help: "How long a kept-alive admin API connection waits for its next request, and a request body may stall.")
    var apiIdleTimeout: String = "60s"

    @Option(help: "With TLS: the admin API's TLS handshake must complete within this of the accept.")
    var apiTlsHandshakeTimeout: String = "5s"

    func validate() throws {
        if let n = nodeName, n.isEmpty || n.count > 63 || n.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7f }) {
            throw ValidationError("--node-name: 1 to 63 printable characters without spaces")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: unknown level \"\(logLevel)\"")
        }
        guard LogFormat(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format: expected text, json or journald, not \"\(logFormat)\"")
        }
        for d in dns { _ = try HostPort.parse(d, option: "--dns") }
        if !metrics.isEmpty { _ = try HostPort.parse(metrics, option: "--metrics") }
        guard (512...65535).contains(maxUdpSize) else { throw ValidationError("--max-udp-size: must be 512...65535") }
        guard udpWorkers >= 0 else { throw ValidationError("--udp-workers: must be >= 0") }
        if let udpCpus, case .failure(let e) = CPUList.parse(udpCpus) { throw ValidationError("--udp-cpus: \(e.message)") }
        guard tcpMaxConnections > 0 else { throw ValidationError("--tcp-max-connections: must be > 0") }
        guard tcpMaxConnectionsPerAddress >= 0 else { throw ValidationError("--tcp-max-connections-per-address: must be >= 0") }
        guard tcpIdleTimeout > 0 else { throw ValidationError("--tcp-idle-timeout: must be > 0") }
        guard tcpWriteTimeout > 0 else { throw ValidationError("--tcp-write-timeout: must be > 0") }
        if let nsid, ServerIdentity.parseNSID(nsid) == nil { throw ValidationError("--nsid: 1 to 128 octets, as hex digits or ascii_TEXT") }
        _ = try rrlConfiguration()
        guard apiMaxAuthFailures > 0 else { throw ValidationError("--api-max-auth-failures: must be > 0") }
        guard apiMaxConnections > 0 else { throw ValidationError("--api-max-connections: must be > 0") }
        guard apiMaxConnectionsPerAddress > 0 else { throw ValidationError("--api-max-connections-per-address: must be > 0") }
        _ = try apiConnectionLimits(maxConnections: apiMaxConnections)
        guard (apiTlsCert == nil) == (apiTlsKey == nil) else {
            throw ValidationError("--api-tls-cert and --api-tls-key go together")
        }
        if !api.isEmpty {
            let hp = try HostPort.parse(api, option: "--api")
            let loopback = hp.host.hasPrefix("127.") || hp.host == "::1"
            if !loopback && apiTlsCert == nil && !insecureApi {
                throw ValidationError("--api: \(api) is not a loopback address; give --api-tls-cert/--api-tls-key, or --insecure-api to serve it without TLS")
            }
        }
    }

    func run() throws {
        let format = LogFormat(rawValue: logFormat) ?? .text
        CairnLogHandler.bootstrap(format: format, level: Logger.Level(rawValue: logLevel) ?? .info)
        let logger = Logger(label: "cairn")
        func startFailed(_ error: any Error) -> ExitCode {
            logger.critical("\(error)", metadata: ["event": "start.failed"])
            return ExitCode(1)
        }
        // --user: look the account up and forbid new privileges before any thread exists
        // (NoNewPrivs is inherited by the threads created after it).
        var account: Privileges.Account?
        if let user {
            do {
                account = try Privileges.lookup(user: user)
                try Privileges.forbidNewPrivileges()
            } catch { throw startFailed(error) }
        }
        let started = DispatchTime.now()
        let config = try daemonConfiguration(user: account, logger: logger)
        if let path = config.storeLocation.sqlitePath, !FileManager.default.fileExists(atPath: path) {
            logger.notice("creating a new, empty store at \(StoreFlag.absolutePath(path))", metadata: ["event": "store.created"])
        }
        let daemon: Daemon
        do { daemon = try Daemon.make(config, logger: logger) } catch { throw startFailed(error) }
        // The listening lines once every listener is bound: DNS now, the admin API and --metrics when their
        // services listen. A script that sees them can use every one of them.
        let listening = Listening(dns: daemon.dnsBound.map { "listening \($0)" },
                                  waitingFor: (api.isEmpty ? 0 : 1) + (metrics.isEmpty ? 0 : 1)) { lines in
            for (text, kind) in lines {
                switch kind {
                case .dns: announce(text, event: "dns.listening", format: format, logger: logger)
                case .api: announce(text, event: "api.listening", format: format, logger: logger)
                case .metrics: announce(text, event: "metrics.listening", format: format, logger: logger)
                }
            }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
            logger.info("ready in \(String(format: "%.1f", ms)) ms", metadata: ["event": "ready"])
        }
        let scheme = apiTlsCert == nil ? "http" : "https"
        let failed = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                try await daemon.run(onAPIBound: { address in
                    listening.bound("listening api \(address) (\(scheme))", .api)
                }, onMetricsBound: { address in
                    listening.bound("listening metrics \(address) (http)", .metrics)
                })
            } catch {
                failed.error.withLock { $0 = error }
            }
            done.signal()
        }
        listening.bound(nil, .dns)
        done.wait()
        if let error = failed.error.withLock({ $0 }) {
            // A listener that could not bind names its flag (ListenError); a service that failed later says why.
            guard listening.complete else { throw startFailed(error) }
            logger.critical("\(error)", metadata: ["event": "serve.failed"])
            throw ExitCode(1)
        }
    }

    /// A `listening` line: in the text format as it has always been (`cairn: listening udp 127.0.0.1:5300`, what
    /// scripts wait for), in the others a `notice` log line with `event` (so that every stderr line is one).
    func announce(_ text: String, event: String, format: LogFormat, logger: Logger) {
        if format == .text {
            FileHandle.standardError.write("cairn: \(text)\n".data(using: .utf8)!)
        } else {
            logger.notice("\(text)", metadata: ["event": .string(event)])
        }
    }

    /// The flags as the daemon's typed configuration (validated in `validate()`).
    func daemonConfiguration(user: Privileges.Account?, logger: Logger) throws -> DaemonConfiguration {
        let addresses = try (dns.isEmpty ? ["127.0.0.1:5300"] : dns).map { try HostPort.parse($0, option: "--dns") }
        // Probes and TCP clients need file descriptors: raise the soft limit to the hard one.
        var lim = rlimit()
        if getrlimit(RLIMIT_NOFILE_VALUE, &lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max
            _ = setrlimit(RLIMIT_NOFILE_VALUE, &lim)
        }
        // ... and the admin API gets only what DNS over TCP and probes leave of it (DescriptorBudget).
        var apiConnections = apiMaxConnections
        if getrlimit(RLIMIT_NOFILE_VALUE, &lim) == 0 {
            let limit = lim.rlim_cur >= UInt64(Int.max) ? Int.max : Int(lim.rlim_cur)
            apiConnections = DescriptorBudget.apiConnections(requested: apiMaxConnections, descriptorLimit: limit,
                                                             tcpConnections: tcpMaxConnections, probes: probeConcurrency)
            if apiConnections < apiMaxConnections && !api.isEmpty {
                logger.warning("""
                    --api-max-connections \(apiMaxConnections) lowered to \(apiConnections): of the \(limit) descriptors \
                    (RLIMIT_NOFILE), \(tcpMaxConnections + 1) are kept for DNS over TCP, \(probeConcurrency) for probes and \
                    \(DescriptorBudget.fixedReserve) for the rest; raise the hard limit (LimitNOFILE=, ulimit -Hn) or lower \
                    --probe-concurrency or --tcp-max-connections
                    """, metadata: ["event": "api.connections_lowered"])
            }
        }
        var apiConfig: AdminAPIConfiguration?
        if !api.isEmpty {
            let hp = try HostPort.parse(api, option: "--api")
            apiConfig = AdminAPIConfiguration(host: hp.host, port: hp.port, tlsCertificate: apiTlsCert, tlsKey: apiTlsKey,
                                              failureLimit: apiMaxAuthFailures, allowCommandMonitors: allowCommandMonitors,
                                              limits: limits.limits,
                                              connections: try apiConnectionLimits(maxConnections: apiConnections))
            apiConfig?.requireIfMatch = apiRequireIfMatch
        }
        var config = DaemonConfiguration(
            zones: zones, db: db ?? "cairn.sqlite", store: try StoreFlag.location(db: db, store: store),
            dns: DNSServerConfiguration(
                addresses: addresses, udpWorkers: udpWorkers, maxUDPPayload: maxUdpSize,
                tcpIdleTimeout: .seconds(Int64(tcpIdleTimeout)), tcpWriteTimeout: .seconds(Int64(tcpWriteTimeout)),
                tcpMaxConnections: tcpMaxConnections, tcpMaxConnectionsPerAddress: tcpMaxConnectionsPerAddress,
                udpCPUs: try udpCpus.map { try CPUList.parse($0).get() } ?? [],   // validated in validate()
                identity: ServerIdentity(nsid: nsid.flatMap(ServerIdentity.parseNSID), identity: identity, version: serverVersion),
                cookies: try cookies(), rrl: try rrlConfiguration()),
            api: apiConfig, probeConcurrency: probeConcurrency, allowCommandMonitors: allowCommandMonitors,
            pidFile: pidFile.isEmpty ? nil : pidFile, user: user,
            storePollInterval: try seconds(storeCheckInterval, "--store-check-interval", from: 0.01, to: 3600),
            nodeName: nodeName ?? ProcessInfo.processInfo.hostName,
            nodeHeartbeat: try seconds(nodeHeartbeat, "--node-heartbeat", from: 0.1, to: 60),
            nodeGoneAfter: try seconds(nodeGoneAfter, "--node-gone-after", from: 1, to: 86_400),
            storeCache: storeCache.isEmpty ? nil : storeCache)
        if !metrics.isEmpty { config.metrics = try HostPort.parse(metrics, option: "--metrics") }
        config.drillRequireReason = drillRequireReason
        config.geoipDirectory = geoipDir
        config.healthHistoryRetention = try seconds(healthHistoryRetention, "--health-history-retention", from: 3600, to: 3650 * 86_400)
        return config
    }

    /// A duration flag in seconds, within bounds.
    func seconds(_ text: String, _ flag: String, from: Double, to: Double) throws -> Double {
        guard let s = TimeSpan.seconds(text), s >= from, s <= to else {
            throw ValidationError("\(flag): expected a duration from \(TimeSpan.text(seconds: from)) to \(TimeSpan.text(seconds: to)) such as 2s, not \"\(text)\"")
        }
        return s
    }

    /// Response rate limiting from the `--rrl-*` flags.
    func rrlConfiguration() throws -> RRLConfiguration {
        let exempt = try rrlExempt.map { text in
            guard let c = CIDR(text), !c.hasHostBits else {
                throw ValidationError("--rrl-exempt: \"\(text)\" is not a network such as 192.0.2.0/24 or 2001:db8::/32 (host bits zero)")
            }
            return c
        }
        var whitelist: [RRLClass] = []
        for text in rrlWhitelist {
            guard let classes = RRLClass.parse(text) else {
                throw ValidationError("--rrl-whitelist: \"\(text)\" is not one of \((RRLClass.allCases.map(\.name) + ["all"]).joined(separator: ", "))")
            }
            for c in classes where !whitelist.contains(c) { whitelist.append(c) }
        }
        let config = RRLConfiguration(ratelimit: rrlRatelimit, whitelistRatelimit: rrlWhitelistRatelimit, whitelist: whitelist,
                                      slip: rrlSlip, window: rrlWindow, ipv4Prefix: rrlIpv4Prefix, ipv6Prefix: rrlIpv6Prefix,
                                      exempt: exempt, tableSize: rrlTableSize)
        if let problem = config.problems.first { throw ValidationError(problem) }
        return config
    }

    /// DNS cookies from `--no-cookies` / `--cookie-secret-file` (read here, as root, before the drop).
    func cookies() throws -> ServerCookies? {
        if noCookies {
            guard cookieSecretFile == nil else { throw ValidationError("--cookie-secret-file: cookies are off (--no-cookies)") }
            return nil
        }
        guard let path = cookieSecretFile else { return ServerCookies(secrets: .random()) }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ValidationError("--cookie-secret-file \(quoted(path)): cannot read it (\(error.localizedDescription))")
        }
        do { return ServerCookies(secrets: try CookieSecrets.parse(text)) } catch {
            throw ValidationError("--cookie-secret-file \(quoted(path)): \(error)")
        }
    }

    /// The admin API's caps and deadlines from the flags (durations read as every other duration, by `TimeSpan`).
    func apiConnectionLimits(maxConnections: Int) throws -> AdminConnectionLimits {
        func duration(_ text: String, _ option: String) throws -> TimeAmount {
            guard let ms = TimeSpan(text)?.wholeMilliseconds, ms > 0, ms <= 86_400_000 else {
                throw ValidationError("\(option): expected a duration from 1ms to 24h such as 10s or 500ms, not \"\(text)\"")
            }
            return .milliseconds(Int64(ms))
        }
        return AdminConnectionLimits(
            maxConnections: maxConnections, maxConnectionsPerAddress: apiMaxConnectionsPerAddress,
            headerTimeout: try duration(apiHeaderTimeout, "--api-header-timeout"),
            idleTimeout: try duration(apiIdleTimeout, "--api-idle-timeout"),
            tlsHandshakeTimeout: try duration(apiTlsHandshakeTimeout, "--api-tls-handshake-timeout"))
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a running `cairn serve` reread its zones (SIGHUP) and wait for the outcome; exit 1 when a zone failed.",
        discussion: "The server reports each SIGHUP reload in PIDFILE.reload; a zone that fails keeps serving its last good version.")

    @Option(help: "The pid file written by `cairn serve --pid-file`.")
    var pidFile: String = "cairn.pid"

    @Option(help: "Seconds to wait for the reload's outcome.")
    var timeout: Double = 60

    func run() throws {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ValidationError("--pid-file: cannot read a pid from \(pidFile)")
        }
        let resultFile = ReloadResult.path(pidFile: pidFile)
        let before = ReloadResult.read(resultFile)
        guard kill(pid, SIGHUP) == 0 else {
            throw ValidationError("cannot signal pid \(pid): \(String(cString: strerror(errno)))")
        }
        guard let before else {
            // A server that does not report (started before this version): the signal is all there is.
            print("reload requested (pid \(pid)); \(resultFile) is missing, so its outcome is not known: see the server's log")
            return
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let r = ReloadResult.read(resultFile), r.sequence > before.sequence {
                for e in r.errors { FileHandle.standardError.write(Data("cairn: reload: \(e)\n".utf8)) }
                print("reloaded (pid \(pid)): \(r.zones ?? 0) zones, generation \(r.generation.map(String.init) ?? "-"), \(r.errors.count) errors")
                if !r.errors.isEmpty { throw ExitCode(1) }
                return
            }
            usleep(50_000)
        }
        FileHandle.standardError.write(Data("cairn: reload: no outcome in \(resultFile) within \(timeout) s (pid \(pid))\n".utf8))
        throw ExitCode(1)
    }
}

enum HostPort {
    /// `127.0.0.1:5300`, `[::1]:53`, `localhost:0`.
    static func parse(_ s: String, option: String) throws -> (host: String, port: Int) {
        var host: Substring
        var port: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]"), s[s.index(after: close)...].hasPrefix(":") else {
                throw ValidationError("\(option): \"\(s)\" is not [IPV6]:PORT")
            }
            host = s[s.index(after: s.startIndex)..<close]
            port = s[s.index(close, offsetBy: 2)...]
        } else {
            guard let colon = s.lastIndex(of: ":") else { throw ValidationError("\(option): \"\(s)\" is not HOST:PORT") }
            host = s[..<colon]
            port = s[s.index(after: colon)...]
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard let p = Int(port), (0...65535).contains(p), !host.isEmpty else {
            throw ValidationError("\(option): \"\(s)\" has no valid port")
        }
        return (String(host), p)
    }
}

/// The listening lines of `cairn serve`, held until every listener is bound, then given to `print` at once, in
/// order: DNS, the API, `--metrics`.
final class Listening: Sendable {
    enum Kind: Int, Sendable { case dns, api, metrics }
    private struct State {
        var lines: [(String, Kind)]
        var waiting: Int
        var dnsDone = false
        var printed = false
    }
    private let state: Mutex<State>
    private let print: @Sendable ([(String, Kind)]) -> Void

    init(dns: [String], waitingFor: Int, print: @escaping @Sendable ([(String, Kind)]) -> Void) {
        state = Mutex(State(lines: dns.map { ($0, .dns) }, waiting: waitingFor))
        self.print = print
    }

    /// Every listener reported: the lines are out.
    var complete: Bool { state.withLock { $0.printed } }

    /// A listener is bound (`nil` for DNS, whose lines came with `init`); the last one prints them all.
    func bound(_ line: String?, _ kind: Kind) {
        let out: [(String, Kind)]? = state.withLock { s in
            if kind == .dns { s.dnsDone = true } else { s.waiting -= 1 }
            if let line { s.lines.append((line, kind)) }
            guard s.dnsDone, s.waiting == 0, !s.printed else { return nil }
            s.printed = true
            return s.lines.sorted { $0.1.rawValue < $1.1.rawValue }
        }
        if let out { print(out) }
    }
}

/// What the daemon's task reports to the waiting main thread.
final class Outcome: Sendable {
    let error = Mutex<(any Error)?>(nil)
}
