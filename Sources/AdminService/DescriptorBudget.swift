/// Descriptors kept for DNS and health probes, so that the admin API can never take the last ones
/// (issue 14: 20,000 slow API connections used every descriptor; DNS over TCP and `/healthz` stopped
/// answering). `cairn serve` raises the soft RLIMIT_NOFILE to the hard limit, then gives the API at
/// most what is left of it after:
///
/// - DNS over TCP: `--tcp-max-connections` + 1 (the listener accepts one past its cap, then
///   closes the longest-idle connection);
/// - health probes: `--probe-concurrency` (one socket per probe in flight; a command monitor's
///   pipes are a few more, and only with `--allow-command-monitors`);
/// - `fixedReserve` for everything else: the listeners and UDP sockets, the event loops' epoll,
///   eventfd and timer descriptors, the store's files (database, WAL, shared memory) for each of
///   its connections, the pid and log files, a running drill's sockets.
///
/// With the defaults: 256 + 513 + 2048 = 2,817 kept, and the API's 1,024 fits under a hard limit
/// of 3,841 or more (systemd's default is 524,288, contrib/cairn.service sets 65,536).
public enum DescriptorBudget {
    public static let fixedReserve = 256
    /// The API always gets at least this many, even when the limit is too low for the rest: an
    /// operator must still reach it (and is warned).
    public static let apiFloor = 16

    /// The API's connection cap that fits under `descriptorLimit`: `requested` or less.
    public static func apiConnections(requested: Int, descriptorLimit: Int, tcpConnections: Int, probes: Int) -> Int {
        let left = descriptorLimit - fixedReserve - (tcpConnections + 1) - probes
        return min(requested, max(left, apiFloor))
    }
}
