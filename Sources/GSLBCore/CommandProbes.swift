/// One program run a configuration causes: a `command` monitor (its whole definition, since its argv is what
/// runs) against one probe target. Running programs is an operator's power (docs/security.md): a write that
/// adds a run the configuration did not have before needs `admin` scope and `cairn serve --allow-command-monitors`.
public struct CommandProbe: Hashable, Sendable {
    public var monitor: Monitor
    public var address: String
    public var port: Int?
    public var pool: String
}

extension GSLBConfig {
    /// The `command` monitors defined, whether or not anything uses them.
    public var commandMonitors: Set<Monitor> { Set(monitors.filter { $0.type == .command }) }

    /// Every program run this configuration causes: each enabled or draining member whose monitor (its own, else
    /// its pool's) is a `command` monitor, as the health monitor probes them.
    public var commandProbes: Set<CommandProbe> {
        let commands = Dictionary(monitors.filter { $0.type == .command }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard !commands.isEmpty else { return [] }
        var runs: Set<CommandProbe> = []
        for p in pools {
            for m in p.members where m.state != .disabled {
                guard let name = m.monitor ?? p.monitor, let mon = commands[name] else { continue }
                runs.insert(CommandProbe(monitor: mon, address: m.probe?.address ?? m.address,
                                         port: m.probe?.port ?? mon.port, pool: p.name))
            }
        }
        return runs
    }
}
