import Foundation
import Synchronization
import NIOCore
import CNetShim

/// `type: command`: runs `command` (a list; `{address}`, `{port}`, `{pool}` substituted in each item, the first
/// item looked up in PATH when it has no slash). Exit status 0 is up. At the timeout the process (and its process
/// group, when it leads one) gets SIGKILL. Output is kept only for its first line, shown in the detail.
public struct CommandProber: Prober {
    public init() {}

    /// The detail of a command probe when the server was started without `--allow-command-monitors`.
    public static let disabledDetail = "command monitors are off: start cairn serve with --allow-command-monitors to run them"

    public func probe(_ spec: ProbeSpec) async -> ProbeResult {
        let start = NIODeadline.now()
        // The argv as parsed once with the target (a JSON list as documented; a plain string split at white space).
        guard case .command(let check)? = spec.check, let first = check.argv.first, !first.isEmpty else {
            return ProbeVerdict.down(spec.badOption ?? "command monitor has no command").result(since: start)
        }
        let argv = check.argv.map { CommandProber.substitute($0, spec) }
        guard let executable = CommandProber.resolve(argv[0]) else {
            return ProbeVerdict.down("exec: \(argv[0]): not found").result(since: start)
        }
        let run = CommandRun(executable: executable, arguments: Array(argv.dropFirst()),
                             timeoutMs: max(1, spec.monitor.timeoutMs), start: start)
        let (verdict, output) = await run.run()
        return ProbeResult(ok: verdict.ok, latency: Double(((run.ended ?? .now()) - start).nanoseconds) / 1e9,
                           detail: verdict.detail, load: nil, output: output)
    }

    static func substitute(_ item: String, _ spec: ProbeSpec) -> String {
        item.replacingOccurrences(of: "{address}", with: spec.address)
            .replacingOccurrences(of: "{port}", with: String(spec.port))
            .replacingOccurrences(of: "{pool}", with: spec.poolName)
    }

    /// A path as given when it has a slash; else the first executable of that name in PATH.
    static func resolve(_ name: String) -> String? {
        if name.contains("/") { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// One run of a check command, with its deadline.
final class CommandRun: Sendable {
    let executable: String
    let arguments: [String]
    let timeoutMs: Int
    let start: NIODeadline

    private struct State {
        var pid: pid_t = 0
        /// Reaped: its pid may belong to another process now.
        var exited = false
        var timedOut = false
        /// When the end was seen: the latency stops there, not when the awaiting task runs again.
        var ended: NIODeadline?
    }
    private let state = Mutex(State())

    init(executable: String, arguments: [String], timeoutMs: Int, start: NIODeadline) {
        self.executable = executable; self.arguments = arguments; self.timeoutMs = timeoutMs; self.start = start
    }

    var ended: NIODeadline? { state.withLock { $0.ended } }

    /// The verdict, and the first line the program printed (kept apart: only `admin` may see it).
    func run() async -> (ProbeVerdict, String?) {
        // Output goes to an unlinked temporary file: writing never blocks the check, whatever it prints
        // and however long its children live; the first line is read back for the detail.
        let tmp = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(tmp)/cairn-probe-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd >= 0 {
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        defer { if fd >= 0 { close(fd) } }

        // cairn_spawn: a process group of its own (the timeout kills its children too), default signal
        // dispositions (the server ignores SIGTERM and SIGHUP), and no descriptor of the server's but the three
        // standard ones, whatever their close-on-exec flag (docs/security.md).
        var pid: pid_t = 0
        var cargs = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        let rc = cargs.withUnsafeMutableBufferPointer { cairn_spawn(executable, $0.baseAddress!, fd, &pid) }
        guard rc == 0 else { return (.down("exec: \(executable): \(String(cString: strerror(rc)))"), nil) }
        state.withLock { $0.pid = pid }
        let status = await exitStatus(of: pid)

        if state.withLock({ $0.timedOut }) { return (.timeout(timeoutMs, ""), nil) }
        let line = fd >= 0 ? CommandRun.firstLine(fd) : nil
        let signal = status & 0x7f
        if signal == 0 {
            let code = (status >> 8) & 0xff
            return (code == 0 ? .up("exit status 0") : .down("exit status \(code)"), line)
        }
        return (.down("killed by signal \(signal)"), line)
    }

    /// The raw wait status of `pid`, reaped once it has ended; at the deadline its process group gets SIGKILL.
    /// The reap and the kill take the same lock, so the kill never reaches a reused pid.
    private func exitStatus(of pid: pid_t) async -> Int32 {
        await withCheckedContinuation { (cont: CheckedContinuation<Int32, Never>) in
            let remaining = (start + .milliseconds(Int64(timeoutMs))) - NIODeadline.now()
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(max(0, Int(remaining.nanoseconds)))) { [self] in
                state.withLock { s in
                    guard !s.exited else { return }
                    s.timedOut = true
                    kill(-pid, SIGKILL)
                }
            }
            /// Reaps `pid` if it has ended: its status, or nil.
            let reap: @Sendable () -> Int32? = { [self] in
                state.withLock { s -> Int32? in
                    guard !s.exited else { return nil }
                    var st: Int32 = 0
                    guard waitpid(pid, &st, WNOHANG) == pid else { return nil }
                    s.exited = true
                    s.ended = .now()
                    return st
                }
            }
            let pidfd = cairn_pidfd_open(pid)
            if pidfd >= 0 {
                // Readable once the process has exited: no thread waits.
                let source = DispatchSource.makeReadSource(fileDescriptor: pidfd, queue: CommandRun.queue)
                source.setEventHandler {
                    guard let st = reap() else { return }
                    source.cancel()
                    cont.resume(returning: st)
                }
                source.setCancelHandler { close(pidfd) }
                source.resume()
            } else {
                // No pidfd (kernels before 5.3): a thread waits without reaping (WNOWAIT keeps the pid taken), then reaps.
                Thread.detachNewThread {
                    var info = siginfo_t()
                    while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
                    cont.resume(returning: reap() ?? 0)
                }
            }
        }
    }

    static let queue = DispatchQueue(label: "cairn.health.command-exit")

    /// The first non-empty line of what the command printed, at most 200 characters.
    static func firstLine(_ fd: Int32) -> String? {
        var buf = [UInt8](repeating: 0, count: 512)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buf[..<n], as: UTF8.self)
        guard let line = text.split(whereSeparator: \.isNewline).first?.trimmingCharacters(in: .whitespaces),
              !line.isEmpty else { return nil }
        return String(line.prefix(200))
    }
}
