import NIOCore
import NIOSSL

/// The prober the health scheduler uses: dispatches each probe by `spec.monitor.type`.
public struct MonitorProber: Prober, ProbeStarter {
    public let tcp: TCPProber
    public let http: HTTPProber
    public let dns: DNSProber
    public let command: CommandProber
    /// Whether `command` monitors run (`cairn serve --allow-command-monitors`). Off, their probes fail at once
    /// with `CommandProber.disabledDetail` and nothing is started: running programs is an operator's power.
    public let allowCommands: Bool

    /// - Parameters:
    ///   - group: the event loops that HTTPS and DNS probes run on (shared, never one per probe), and TCP and HTTP
///     probes of host names or when the probe loop is off (`CAIRN_PROBE_ENGINE=nio`); the rest run on `ProbeLoop`.
    ///   - trustRoots: what `https` monitors with `verify_tls: true` trust (default: the system's roots).
    ///   - allowCommands: run `command` monitors (off by default; docs/security.md).
    public init(group: any EventLoopGroup, trustRoots: NIOSSLTrustRoots = .default, allowCommands: Bool = false) {
        tcp = TCPProber(group: group)
        http = HTTPProber(group: group, trustRoots: trustRoots)
        dns = DNSProber(group: group)
        command = CommandProber()
        self.allowCommands = allowCommands
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
        case .command:
            guard allowCommands else { return ProbeResult(ok: false, latency: 0, detail: CommandProber.disabledDetail) }
            return await command.probe(spec)
        }
    }
}
