import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL 15 for the tests, started by the tests themselves (docs/store.md, "Tests"):
/// `initdb` and `pg_ctl` from Debian's `postgresql` package in a temporary directory, listening
/// on a free port of 127.0.0.1 only, password authentication (scram-sha-256) for TCP. One server
/// per test process, started on first use; each test gets a database of its own
/// (`makeDatabase()`). It is stopped when the process exits, and by a watchdog if the process
/// dies without exiting.
///
/// PostgreSQL refuses to run as root: as root, every server command runs as the `postgres`
/// account (`runuser -u postgres --`), and the directory is made traversable for it.
///
/// When the binaries are missing this throws, and the tests that need it fail saying so:
/// `scripts/setup-deps` installs `postgresql`.
public final class TestPostgres: Sendable {
    public static let binDirectory = ProcessInfo.processInfo.environment["CAIRN_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
    /// The password of the `postgres` role over TCP.
    public static let password = "cairn-test-password"
    public static let user = "postgres"

    public let directory: String
    public let port: Int
    private let databases = Mutex(0)

    /// The environment a client needs (`PGPASSWORD`).
    public var environment: [String: String] { ["PGPASSWORD": Self.password] }

    private static let sharedServer = Mutex<Result<TestPostgres, TestPostgresError>?>(nil)

    /// The process's server, started on first use.
    public static func shared() throws -> TestPostgres {
        try sharedServer.withLock { box in
            if box == nil {
                box = Result { try TestPostgres() }.mapError { $0 as? TestPostgresError ?? TestPostgresError("\($0)") }
                if case .success(let server) = box {
                    stopAtExit.withLock { $0 = server }
                    atexit { TestPostgres.stopAtExit.withLock { $0 }?.stop() }
                }
            }
            return try box!.get()
        }
    }
    private static let stopAtExit = Mutex<TestPostgres?>(nil)

    /// Server options: fast (`fsync=off`, `synchronous_commit=off`) for the shared server; a dedicated one (the crash
    /// tests) keeps `synchronous_commit=on`, so that a commit reported to the client is in the WAL that survives
    /// `pg_ctl -m immediate` (a process crash: with `fsync=off` the WAL is written, not flushed to disk).
    var options: String {
        "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=\(durable ? "on" : "off") -c max_connections=200"
    }
    let durable: Bool

    private init(durable: Bool = false) throws {
        self.durable = durable
        let initdb = Self.binDirectory + "/initdb"
        guard FileManager.default.isExecutableFile(atPath: initdb) else {
            throw TestPostgresError("PostgreSQL 15 is not installed (\(initdb) is missing): these tests need a real PostgreSQL; "
                                    + "run scripts/setup-deps (apt-get install postgresql)")
        }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        chmod(base, 0o755)
        directory = base
        let data = base + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
        chmod(data, 0o700)
        let pwfile = base + "/pwfile"
        try Self.password.write(toFile: pwfile, atomically: true, encoding: .utf8)
        if getuid() == 0 {
            guard getpwnam("postgres") != nil else {
                throw TestPostgresError("the postgres account is missing (installed with the postgresql package): run scripts/setup-deps")
            }
            try Self.run("/bin/chown", ["-R", "postgres:postgres", base])
        }
        port = try Self.freePort()
        try Self.runAsPostgres(initdb, ["-D", data, "-U", Self.user, "--auth-local=trust", "--auth-host=scram-sha-256",
                                        "--pwfile=" + pwfile, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        try Self.runAsPostgres(Self.binDirectory + "/pg_ctl", ["-D", data, "-w", "-t", "30", "-l", base + "/log", "-o", options, "start"])
        // A watchdog: stops the server and removes the directory when this process is gone.
        let stopCommand = (getuid() == 0 ? "runuser -u postgres -- " : "") + "\(Self.binDirectory)/pg_ctl -D \(data) -m immediate stop"
        _ = try Self.spawn("/bin/sh", ["-c", "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stopCommand); rm -rf \(base)"],
                           output: "/dev/null")
    }

    /// A new, empty database; returns its `--store` URL (`postgres://postgres@127.0.0.1:PORT/NAME?sslmode=disable`).
    public func makeDatabase() throws -> String {
        let n = databases.withLock { $0 += 1; return $0 }
        let name = "cairn_test_\(n)"
        try Self.runAsPostgres(Self.binDirectory + "/createdb", ["-h", directory, "-p", String(port), "-U", Self.user, name])
        return url(database: name)
    }

    public func url(database: String) -> String {
        "postgres://\(Self.user)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Runs SQL through psql on the server's socket (as the superuser, no password).
    @discardableResult
    public func psql(_ database: String, _ sql: String) throws -> String {
        try Self.runAsPostgres(Self.binDirectory + "/psql", ["-h", directory, "-p", String(port), "-U", Self.user, "-d", database,
                                                             "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
    }

    /// A server of its own (not the process's shared one), for a test that stops and starts it;
    /// `stop()` it at the end.
    public static func dedicated() throws -> TestPostgres { try TestPostgres(durable: true) }

    /// Stops the server as a crash would (`pg_ctl -m immediate`); `start()` brings it back on the same port and data.
    public func crash() throws {
        try Self.runAsPostgres(Self.binDirectory + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
    }

    public func start() throws {
        try Self.runAsPostgres(Self.binDirectory + "/pg_ctl", ["-D", directory + "/data", "-w", "-t", "30", "-l", directory + "/log",
                                                               "-o", options, "start"])
    }

    /// Stops the server (fast shutdown) and removes its directory.
    public func stop() {
        _ = try? Self.runAsPostgres(Self.binDirectory + "/pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func runAsPostgres(_ tool: String, _ arguments: [String]) throws -> String {
        if getuid() == 0 { return try run("/usr/sbin/runuser", ["-u", "postgres", "--", tool] + arguments) }
        return try run(tool, arguments)
    }

    /// Runs `tool ARGUMENTS` to completion, its output in a file; throws unless it exits 0.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-pg-out-\(UUID().uuidString)").path
        defer { unlink(outPath) }
        let pid = try spawn(tool, arguments, output: outPath)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw TestPostgresError("\(tool) \(arguments.joined(separator: " ")) failed (status \(status)): \(output)")
        }
        return output
    }

    /// Starts `tool ARGUMENTS` with stdin /dev/null, stdout and stderr to `output`, and **no other
    /// descriptor**: `pg_ctl start` leaves the server running with what it inherited, and
    /// Foundation's `Process` learns that a child ended when a descriptor the child inherited
    /// closes, so a server holding one would make another test's `waitUntilExit()` wait for it
    /// (bash closes every descriptor above 2, then execs the tool). Not through `Process` for the
    /// same reason. Returns the pid; the caller waits for it (or not).
    static func spawn(_ tool: String, _ arguments: [String], output: String) throws -> pid_t {
        let script = #"for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null; exec "$@""#
        let argv = ["/bin/bash", "-c", "cd / && " + script, "bash", tool] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArgs = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for a in cArgs { free(a) } }
        var cEnv = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") }
        cEnv.append(nil)
        defer { for e in cEnv { free(e) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/bash", &actions, nil, cArgs, cEnv)
        guard rc == 0 else { throw TestPostgresError("cannot start \(tool): \(String(cString: strerror(rc)))") }
        return pid
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestPostgresError("socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestPostgresError("cannot find a free port: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct TestPostgresError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
