import GSLBCore
import NIOCore
import NIOSSL

/// The prober the health scheduler uses: dispatches each probe by `spec.monitor.type`.
public struct MonitorProber: Prober, ProbeStarter {
    public let tcp: TCPProber
    public let http: HTTPProber
    public let dns: DNSProber
    public let command: CommandProber

    /// - Parameters:
    ///   - group: the event loops that HTTPS and DNS probes run on (shared, never one per probe), and TCP and HTTP
///     probes of host names or when the probe loop is off (`CAIRN_PROBE_ENGINE=nio`); the rest run on `ProbeLoop`.
    ///   - trustRoots: what `https` monitors with `verify_tls: true` trust (default: the system's roots).
    public init(group: any EventLoopGroup, trustRoots: NIOSSLTrustRoots = .default) {
        tcp = TCPProber(group: group)
        http = HTTPProber(group: group, trustRoots: trustRoots)
        dns = DNSProber(group: group)
        command = CommandProber()
    }

    /// Plain TCP and HTTP probes start on the probe loop; the other types (and host names) return false.
    public func start(_ spec: ProbeSpec, done: @escaping @Sendable (ProbeResult) -> Void) -> Bool {
        switch spec.monitor.type {
        case .tcp: return tcp.start(spec, done: done)
        case .http: return http.start(spec, done: done)
        case .https, .dns, .command: return false
        }
    }

    public func probe(_ spec: ProbeSpec) async -> ProbeResult {
        switch spec.monitor.type {
        case .tcp: return await tcp.probe(spec)
        case .http, .https: return await http.probe(spec)
        case .dns: return await dns.probe(spec)
        case .command: return await command.probe(spec)
        }
    }
}
