import DNSWire
import Foundation
import Synchronization

/// Where the package and the built `cairn` binary are.
enum Paths {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var cairnBinary: URL {
        if let p = ProcessInfo.processInfo.environment["CAIRN_BIN"] { return URL(fileURLWithPath: p) }
        let nextToTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cairn")
        if FileManager.default.isExecutableFile(atPath: nextToTests.path) { return nextToTests }
        return packageRoot.appendingPathComponent(".build/debug/cairn")
    }

    static func fixture(_ rel: String) -> URL { packageRoot.appendingPathComponent(rel) }

    static func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }
}

/// Collects a child's output lines, safely across threads.
final class OutputLog: Sendable {
    private let text = Mutex<String>("")
    func append(_ s: String) { text.withLock { $0 += s } }
    var value: String { text.withLock { $0 } }
}

/// A real `cairn` process, started on ephemeral ports and stopped at the end.
final class CairnProcess {
    let process = Process()
    let stderr = OutputLog()
    private(set) var port: Int = 0
    /// The admin API's port (0 when the API is off).
    private(set) var apiPort: Int = 0
    var apiBase: String { "http://127.0.0.1:\(apiPort)" }

    /// Starts `cairn ARGS` and waits for its `listening udp` line (for `serve`); `environment`
    /// is added to this process's environment.
    init(_ args: [String], waitForListen: Bool = true, environment: [String: String] = [:]) throws {
        process.executableURL = Paths.cairnBinary
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        var args = args
        // Every server gets its own store unless the test names one (a flag, CAIRN_STORE or CAIRN_DB, or a
        // --config file): no two tests share a file.
        let named = args.contains("--db") || args.contains("--store") || args.contains("--config")
            || environment["CAIRN_STORE"] != nil || environment["CAIRN_DB"] != nil
        if args.first == "serve" && !named {
            args += ["--db", FileManager.default.temporaryDirectory.appendingPathComponent("cairn-\(UUID().uuidString).sqlite").path]
        }
        // ... and, on a shared (PostgreSQL) store, its own local cache (the default is in the working directory).
        if args.first == "serve" && args.contains("--store") && !args.contains("--store-cache") {
            args += ["--store-cache", FileManager.default.temporaryDirectory.appendingPathComponent("cairn-\(UUID().uuidString).store-cache.json").path]
        }
        // ... and its own ephemeral admin API port (the default 9053 would collide).
        if args.first == "serve" && !args.contains("--api") && !args.contains("--config") {
            args += ["--api", "127.0.0.1:0"]
        }
        process.arguments = args
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let log = stderr
        pipe.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            if !d.isEmpty { log.append(String(decoding: d, as: UTF8.self)) }
        }
        try process.run()
        guard waitForListen else { return }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let log = stderr.value
            let apiOff = args.firstIndex(of: "--api").map { $0 + 1 < args.count && args[$0 + 1].isEmpty } ?? false
            let apiPending = args.first == "serve" && !apiOff && CairnProcess.apiPort(in: log) == nil
            if let p = CairnProcess.listenPort(in: log), !apiPending {
                port = p
                apiPort = CairnProcess.apiPort(in: log) ?? 0
                return
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        stop()
        throw CairnProcessError.didNotListen(stderr.value)
    }

    /// From `cairn: listening udp 127.0.0.1:PORT`, or the same text in a `--log-format json|journald` line.
    static func listenPort(in log: String) -> Int? { port(after: "listening udp ", in: log) }

    /// From `cairn: listening api 127.0.0.1:PORT (http)` (or its json/journald line).
    static func apiPort(in log: String) -> Int? { port(after: "listening api ", in: log) }

    /// The port of the first `HOST:PORT` that follows `marker` in a line.
    static func port(after marker: String, in log: String) -> Int? {
        for line in log.split(separator: "\n") {
            guard let r = line.range(of: marker) else { continue }
            let addr = line[r.upperBound...].prefix { $0 != " " && $0 != "\"" }
            if let p = addr.split(separator: ":").last, let v = Int(p) { return v }
        }
        return nil
    }

    func signal(_ s: Int32) { kill(process.processIdentifier, s) }

    func stop() { Self.stop(process) }

    /// SIGTERM, at most 5 s to exit, then SIGKILL and at most 10 s more: never an unbounded wait (a grandchild
    /// left running can hide the exit from Foundation for as long as it runs; see `runCapturing`).
    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        var deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
    }

    deinit { stop() }

    /// Starts `program ARGS` (a reference server: NSD, Unbound) through python3, which unblocks SIGTERM (the test
    /// process may spawn children with it blocked, and the server would then never stop) and execs it, so
    /// `CairnProcess.stop` signals the pid the server runs as. Output goes nowhere.
    static func startUnblocked(_ program: String, _ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM]); "
                       + "signal.signal(signal.SIGTERM, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])", program] + args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Runs `cairn ARGS` to completion: (exit status, stdout + stderr).
    static func run(_ args: [String]) throws -> (Int32, String) {
        try runCapturing(Paths.cairnBinary, args)
    }

    /// Runs `cairn ARGS` for at most `timeout` seconds: (exit status, output, seconds it
    /// took); a process still running then is killed and its status is nil.
    static func run(_ args: [String], timeout: Double) throws -> (Int32?, String, Double) {
        let start = Date()
        let (status, text) = try runBounded(Paths.cairnBinary, args, limit: timeout)
        return (status, text, Date().timeIntervalSince(start))
    }

    /// Runs a program to completion with its output in a temp file, not a pipe: a pipe's
    /// write end can leak into processes that other tests start at the same moment, and
    /// then reading to EOF would wait for them. A program still running after `limit` seconds
    /// is killed (status 137, its output ending in a line that says so): a hung command fails
    /// its test instead of holding the whole run until CI's own limit ends it without a word.
    static func runCapturing(_ exe: URL, _ args: [String], cwd: URL? = nil, env: [String: String]? = nil,
                             withStderr: Bool = true, limit: Double = 300) throws -> (Int32, String) {
        let (status, text) = try runBounded(exe, args, cwd: cwd, env: env, withStderr: withStderr, limit: limit)
        guard let status else { return (137, text + "\n[killed: \(exe.lastPathComponent) \(args.joined(separator: " ")) ran past \(limit) s]\n") }
        return (status, text)
    }

    /// `runCapturing`'s work: the exit status, or nil when the program was killed at `limit`.
    private static func runBounded(_ exe: URL, _ args: [String], cwd: URL? = nil, env: [String: String]? = nil,
                                   withStderr: Bool = true, limit: Double) throws -> (Int32?, String) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-out-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let h = try FileHandle(forWritingTo: out)
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        if let cwd { p.currentDirectoryURL = cwd }
        if let env { p.environment = env }
        p.standardOutput = h
        p.standardError = withStderr ? h : FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        let ended = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in ended.signal() }
        try p.run()
        let killed = ended.wait(timeout: .now() + limit) == .timedOut
        if killed {
            // Not waitUntilExit: Foundation sees a child's exit only once every process that inherited a
            // descriptor of its own has closed it, so a grandchild still running (`sh -c "...; sleep 30"`)
            // hides the exit for as long as it runs (SupportTests).
            kill(p.processIdentifier, SIGKILL)
            _ = ended.wait(timeout: .now() + 10)
        }
        try h.close()
        return (killed ? nil : p.terminationStatus, String(decoding: try Data(contentsOf: out), as: UTF8.self))
    }
}

enum CairnProcessError: Error { case didNotListen(String) }
