import CNetShim
import DNSWire
import Foundation
import GSLBCore
import Logging
import NIOCore
import NIOPosix

/// Where and how to listen.
public struct DNSServerConfiguration: Sendable {
    public var addresses: [(host: String, port: Int)]
    /// UDP sockets (and threads) per address, bound with SO_REUSEPORT.
    public var udpWorkers: Int
    public var maxUDPPayload: Int
    /// A TCP connection with no answer pending that sends no complete query for this long is closed.
    public var tcpIdleTimeout: TimeAmount
    /// A TCP connection whose pending answers make no progress for this long is closed (reset).
    public var tcpWriteTimeout: TimeAmount
    public var tcpMaxConnections: Int
    /// Open TCP connections from one client address at most (0: no per-address cap).
    public var tcpMaxConnectionsPerAddress: Int
    /// CPUs for the UDP worker threads: worker i of each address is pinned to `udpCPUs[i % count]`; empty = not pinned.
    public var udpCPUs: [Int]
    /// NSID and the CH TXT identity/version answers (none by default).
    public var identity: ServerIdentity
    /// DNS cookies (RFC 7873/9018): the secrets, or nil when they are off (`--no-cookies`).
    public var cookies: ServerCookies?
    /// Response rate limiting of UDP answers. Off unless given: `cairn serve` gives NSD's defaults.
    public var rrl: RRLConfiguration

    public init(addresses: [(host: String, port: Int)] = [("127.0.0.1", 5300)], udpWorkers: Int = 0,
                maxUDPPayload: Int = 1232, tcpIdleTimeout: TimeAmount = .seconds(10),
                tcpWriteTimeout: TimeAmount = DNSTCPLimits.defaultWriteTimeout, tcpMaxConnections: Int = 512,
                tcpMaxConnectionsPerAddress: Int = DNSTCPLimits.defaultMaxConnectionsPerAddress,
                udpCPUs: [Int] = [], identity: ServerIdentity = .none, cookies: ServerCookies? = nil,
                rrl: RRLConfiguration = .off) {
        self.addresses = addresses
        self.rrl = rrl
        self.identity = identity
        self.cookies = cookies
        self.udpCPUs = udpCPUs
        self.udpWorkers = udpWorkers > 0 ? udpWorkers : max(1, System.coreCount)
        self.maxUDPPayload = maxUDPPayload
        self.tcpIdleTimeout = tcpIdleTimeout
        self.tcpWriteTimeout = tcpWriteTimeout
        self.tcpMaxConnections = tcpMaxConnections
        self.tcpMaxConnectionsPerAddress = tcpMaxConnectionsPerAddress
    }
}

public struct BoundAddress: Sendable, CustomStringConvertible {
    public let transport: String
    public let host: String
    public let port: Int
    public var description: String { host.contains(":") ? "\(transport) [\(host)]:\(port)" : "\(transport) \(host):\(port)" }
}

public enum DNSServerError: Error, CustomStringConvertible {
    /// A `--dns` address that could not be bound: transport (`UDP`, `TCP`), host, port, why.
    case bind(String, String, Int, String)
    public var description: String {
        switch self {
        case let .bind(transport, h, p, why):
            return "cannot bind \(h.contains(":") ? "[\(h)]:\(p)" : "\(h):\(p)") (\(transport), --dns): \(why)"
        }
    }

    /// Why a bind failed, as an operator reads it: `address already in use`, not NIO's
    /// `bind(descriptor:ptr:bytes:): Address already in use (errno: 98)`.
    public static func reason(errno code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    /// `reason(errno:)` of an `IOError`, else the error's text.
    public static func reason(_ error: any Error) -> String {
        if let e = error as? IOError { return reason(errno: e.errnoCode) }
        return "\(error)"
    }
}

/// The DNS listeners: UDP worker threads plus NIO TCP, all answering from the
/// same `SnapshotBox`.
public final class DNSServer: @unchecked Sendable {
    public let box: SnapshotBox
    public let configuration: DNSServerConfiguration
    public let counters = QueryCounters()
    /// The RRL table shared by the UDP workers, nil when RRL is off.
    public let rateLimiter: ResponseRateLimiter?
    let tcpTable: TCPConnectionTable
    let logger: Logger
    private var udp: [UDPListener] = []
    private var tcpChannels: [Channel] = []
    private var group: MultiThreadedEventLoopGroup?
    public private(set) var bound: [BoundAddress] = []

    public init(configuration: DNSServerConfiguration, box: SnapshotBox, logger: Logger = Logger(label: "cairn.dns")) {
        self.configuration = configuration
        self.box = box
        self.logger = logger
        self.rateLimiter = configuration.rrl.isOn ? ResponseRateLimiter(configuration.rrl) : nil
        self.tcpTable = TCPConnectionTable(maxConnections: configuration.tcpMaxConnections,
                                           maxPerAddress: configuration.tcpMaxConnectionsPerAddress)
    }

    /// TCP connections open now.
    public var tcpConnections: Int { tcpTable.count }

    /// Binds every listener; returns the bound addresses (port 0 resolved).
    @discardableResult
    public func start() throws -> [BoundAddress] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        let scratch = ThreadSpecificVariable<TCPScratch>()
        let table = tcpTable
        for (host, requestedPort) in configuration.addresses {
            for attempt in 1... {
                do {
                    try bindPair(host: host, port: requestedPort, group: group, scratch: scratch, table: table)
                    break
                } catch let e as DNSServerError where requestedPort == 0 && attempt < 64 {
                    // The ephemeral UDP port was taken for TCP (busy loopback: probes, tests): try another.
                    logger.debug("retrying ephemeral bind: \(e)", metadata: ["event": "dns.bind_retry"])
                }
            }
        }
        return bound
    }

    private func bindPair(host: String, port: Int, group: MultiThreadedEventLoopGroup,
                          scratch: ThreadSpecificVariable<TCPScratch>, table: TCPConnectionTable) throws {
        var fds: [Int32] = []
        var actualPort = port
        for w in 0..<configuration.udpWorkers {
            let fd = cairn_udp_socket(host, Int32(actualPort), 1, 4 << 20)
            guard fd >= 0 else {
                fds.forEach { close($0) }
                throw DNSServerError.bind("UDP", host, actualPort, DNSServerError.reason(errno: -fd))
            }
            if w == 0 { actualPort = Int(cairn_socket_port(fd)) }
            _ = cairn_set_recv_timeout_ms(fd, 500)
            fds.append(fd)
        }
        let cfg = configuration
        let box = self.box
        let counters = self.counters
        let channel: Channel
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)   // IPPROTO_TCP; .socketOption would set SO_DEBUG
                // Answers queued past the high mark make the channel unwritable: DNSTCPHandler stops reading.
                .childChannelOption(.writeBufferWaterMark, value: .init(low: DNSTCPLimits.writeBufferLowWaterMark,
                                                                         high: DNSTCPLimits.writeBufferHighWaterMark))
                .childChannelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandler(
                            DNSTCPHandler(box: box, scratch: scratch, configuration: cfg, table: table, counters: counters))
                    }
                }
                .bind(host: host, port: actualPort).wait()
        } catch {
            fds.forEach { close($0) }
            throw DNSServerError.bind("TCP", host, actualPort, DNSServerError.reason(error))
        }
        tcpChannels.append(channel)
        for (i, fd) in fds.enumerated() {
            let l = UDPListener(fd: fd, box: box, maxUDPPayload: cfg.maxUDPPayload, identity: cfg.identity, cookies: cfg.cookies,
                                rateLimiter: rateLimiter, counters: counters)
            let cpu = cfg.udpCPUs.isEmpty ? nil : cfg.udpCPUs[i % cfg.udpCPUs.count]
            l.start(name: "cairn-udp-\(udp.count)", cpu: cpu)   // Linux thread names are at most 15 bytes
            udp.append(l)
        }
        bound.append(BoundAddress(transport: "udp", host: host, port: actualPort))
        bound.append(BoundAddress(transport: "tcp", host: host, port: actualPort))
    }

    /// Stops gracefully: no new TCP connection is accepted, every open one answers the queries it has read and is
    /// closed once its answers are written (waiting at most `grace`, then closing what is left), then the UDP
    /// workers stop (each finishes the batch it has read).
    public func shutdown(grace: TimeAmount) {
        for c in tcpChannels { try? c.close().wait() }
        tcpChannels = []
        for ch in tcpTable.channels { ch.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        let deadline = NIODeadline.now() + grace
        while tcpTable.count > 0 && NIODeadline.now() < deadline { usleep(5_000) }
        stop()
    }

    public func stop() {
        for c in tcpChannels { try? c.close().wait() }
        tcpChannels = []
        for l in udp { l.stop() }
        udp = []
        try? group?.syncShutdownGracefully()
        group = nil
    }
}

/// A CPU list as `taskset -c` and NSD's `cpu-affinity` take it: `1`, `0,2`, `0-3`, `0-1,6`.
public enum CPUList {
    /// CPUs this machine has (the highest usable CPU number + 1).
    public static var available: Int { Int(cairn_cpu_count()) }

    /// The CPUs in order, without repeats; a message naming what is wrong otherwise.
    public static func parse(_ text: String) -> Result<[Int], CPUListError> {
        var cpus: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let lo = Int(bounds[0]), let hi = Int(bounds[bounds.count - 1]), lo >= 0, lo <= hi else {
                return .failure(CPUListError(message: "\"\(part)\" is not a CPU number or range (e.g. 1, 0,2 or 0-3)"))
            }
            guard hi < available else {
                return .failure(CPUListError(message: "CPU \(hi) does not exist (this machine has CPUs 0-\(available - 1))"))
            }
            for c in lo...hi where !cpus.contains(c) { cpus.append(c) }
        }
        return cpus.isEmpty ? .failure(CPUListError(message: "empty CPU list")) : .success(cpus)
    }
}

public struct CPUListError: Error, Sendable {
    public var message: String
}
