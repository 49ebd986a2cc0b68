import GSLBCore
import NIOCore
import NIOSSL

/// The prober the health scheduler uses: dispatches each probe by `spec.monitor.type`.
public struct MonitorProber: Prober {
    public let tcp: TCPProber
    public let http: HTTPProber
    public let dns: DNSProber
    public let command: CommandProber

    /// - Parameters:
    ///   - group: the event loops that every TCP, HTTP(S) and DNS probe runs on (shared, never one per probe).
    ///   - trustRoots: what `https` monitors with `verify_tls: true` trust (default: the system's roots).
    public init(group: any EventLoopGroup, trustRoots: NIOSSLTrustRoots = .default) {
        tcp = TCPProber(group: group)
        http = HTTPProber(group: group, trustRoots: trustRoots)
        dns = DNSProber(group: group)
        command = CommandProber()
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
