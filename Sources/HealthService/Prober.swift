import GSLBCore

/// One thing to probe: an address and port, checked as a monitor says.
public struct ProbeSpec: Hashable, Sendable, CustomStringConvertible {
    /// IPv4 or IPv6 text.
    public let address: String
    public let port: Int
    public let monitor: Monitor
    /// The pool's name, for `{pool}` in a command probe's argv; set only on the targets of a `command` monitor
    /// that names `{pool}` (one target per pool), empty on targets shared by pools. No other probe reads it
    /// (an HTTP probe's Host defaults to the address, `MonitorCheck.HTTPCheck.host`).
    public let poolName: String
    /// The monitor's options parsed once, when the target is built (nil: an option is wrong, see `badOption`).
    public let check: MonitorCheck?
    /// `bad KEY "VALUE"`: why `check` is nil, the probe's detail.
    public let badOption: String?
    /// What a TCP or HTTP probe of this target writes, built once per target, not per probe.
    public let request: [UInt8]

    public init(address: String, port: Int, monitor: Monitor, poolName: String = "", node: String? = nil) {
        self.address = address; self.port = port; self.monitor = monitor; self.poolName = poolName
        let parsed = MonitorCheck.parse(monitor)
        check = parsed.check
        badOption = parsed.check == nil ? parsed.bad.map { "bad \($0.key) \(quoted($0.value, limit: ProbeVerdict.detailLimit))" } ?? "bad monitor options" : nil
        switch parsed.check {
        case .tcp(let t)?: request = t.send
        case .http(let h)?: request = h.request(address: address, port: port, node: node)
        default: request = []
        }
    }

    /// Hashes what tells targets apart in practice (address, port, monitor name and type); `==` still compares
    /// everything. The scheduler looks targets up several times per probe, and hashing the monitor's option
    /// dictionary each time cost more than the lookup.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(address)
        hasher.combine(port)
        hasher.combine(monitor.name)
        hasher.combine(monitor.type)
        // Empty unless the target is one pool's (a command monitor naming `{pool}`): the same address in several
        // pools must not share one hash bucket.
        hasher.combine(poolName)
    }

    public var description: String { "\(monitor.type.rawValue)://\(hostPort(address, port))" }
}

/// The outcome of one probe.
public struct ProbeResult: Sendable, CustomStringConvertible {
    public var ok: Bool
    /// Seconds from start to verdict.
    public var latency: Double
    /// Why it failed (or what it saw), for logs, the API and explain: `HTTP 500`, `connect: refused`, `timeout after 0.5 s`.
    public var detail: String
    /// Load reported by the target (monitor option `load_header` or `load_json`), if any.
    public var load: Double?
    /// The monitor reads a load and this answer gave none that is a number (`load header X-Load is not a
    /// number: "high"`): the member's load becomes unknown rather than keeping its last value.
    public var loadProblem: String?
    /// What a command monitor's program printed (its first line): for the log and `admin` tokens only, never
    /// for `read` (it may hold anything the program can read).
    public var output: String?

    public init(ok: Bool, latency: Double, detail: String, load: Double? = nil, loadProblem: String? = nil, output: String? = nil) {
        self.ok = ok; self.latency = latency; self.detail = detail; self.load = load; self.loadProblem = loadProblem; self.output = output
    }

    /// The detail with the program's output, as the log and `admin` tokens see it.
    public var fullDetail: String { output.map { "\(detail): \($0)" } ?? detail }

    public var description: String { "\(ok ? "up" : "down") in \(Int(latency * 1000)) ms: \(fullDetail)" }
}

/// Checks one target. Implementations never throw and always return within the monitor's timeout (plus a little).
public protocol Prober: Sendable {
    func probe(_ spec: ProbeSpec) async -> ProbeResult
}
