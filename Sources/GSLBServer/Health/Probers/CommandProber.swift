import Foundation
import GSLBCore
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `type: command`: runs `command` (a list; `{address}`, `{port}`, `{pool}` substituted in each item, the first
/// item looked up in PATH when it has no slash). Exit status 0 is up. At the timeout the process (and its process
/// group, when it leads one) gets SIGKILL. Output is kept only for its first line, shown in the detail.
public struct CommandProber: Prober {
    public init() {}

    /// The detail of a command probe when the server was started without `--allow-command-monitors`.
    public static let disabledDetail = "command monitors are off: start cairn serve with --allow-command-monitors to run them"

    public func probe(_ spec: ProbeSpec) async -> ProbeResult {
        let start = NIODeadline.now()
        let m = spec.monitor
        // A JSON list as documented; a plain string is split at white space.
        let template = m.json("command") is [Any] ? m.list("command") : m.text("command")?.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let template, let first = template.first, !first.isEmpty else {
            return ProbeVerdict.down("command monitor has no command").result(since: start)
        }
        let argv = template.map { CommandProber.substitute($0, spec) }
        guard let executable = CommandProber.resolve(argv[0]) else {
            return ProbeVerdict.down("exec: \(argv[0]): not found").result(since: start)
        }
        let run = CommandRun(executable: executable, arguments: Array(argv.dropFirst()),
                             timeoutMs: max(1, m.timeoutMs), start: start)
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
        var exited = false
        var timedOut = false
        /// When the end was seen: the latency stops there, not when the awaiting task runs again.
        var ended: NIODeadline?
    }
    private let state = NIOLockedValueBox(State())

    init(executable: String, arguments: [String], timeoutMs: Int, start: NIODeadline) {
        self.executable = executable; self.arguments = arguments; self.timeoutMs = timeoutMs; self.start = start
    }

    var ended: NIODeadline? { state.withLockedValue { $0.ended } }

    /// The verdict, and the first line the program printed (kept apart: only `admin` may see it).
    func run() async -> (ProbeVerdict, String?) {
        // Output goes to an unlinked temporary file: writing never blocks the check, whatever it prints
        // and however long its children live; the first line is read back for the detail.
        let tmp = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(tmp)/cairn-probe-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd >= 0 { template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) } }
        defer { if fd >= 0 { close(fd) } }
        let output = fd >= 0 ? FileHandle(fileDescriptor: fd, closeOnDealloc: false) : FileHandle.nullDevice

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output

        let launched: Bool = await withCheckedContinuation { (cont: CheckedContinuation<Bool, Never>) in
            process.terminationHandler = { [state] _ in
                state.withLockedValue { $0.exited = true; $0.ended = .now() }
                cont.resume(returning: true)
            }
            do {
                try process.run()
            } catch {
                cont.resume(returning: false)
                return
            }
            let pid = process.processIdentifier
            state.withLockedValue { $0.pid = pid }
            let remaining = (start + .milliseconds(Int64(timeoutMs))) - NIODeadline.now()
            let nanos = max(0, Int(remaining.nanoseconds))
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanos)) { [state] in
                state.withLockedValue { s in
                    // Only while the process is not known to have ended (its PID may be reused after that).
                    guard !s.exited, s.pid > 0 else { return }
                    s.timedOut = true
                    if getpgid(s.pid) == s.pid { kill(-s.pid, SIGKILL) }
                    kill(s.pid, SIGKILL)
                }
            }
        }
        guard launched else { return (.down("exec: \(executable): cannot run"), nil) }

        let timedOut = state.withLockedValue { $0.timedOut }
        if timedOut { return (.timeout(timeoutMs, ""), nil) }
        let line = fd >= 0 ? CommandRun.firstLine(fd) : nil
        switch process.terminationReason {
        case .exit:
            let status = process.terminationStatus
            return (status == 0 ? .up("exit status 0") : .down("exit status \(status)"), line)
        case .uncaughtSignal:
            return (.down("killed by signal \(process.terminationStatus)"), line)
        @unknown default:
            return (.down("ended (\(process.terminationStatus))"), line)
        }
    }

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
