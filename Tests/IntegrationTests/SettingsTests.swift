import DNSWire
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// One place for settings (docs/operations.md, "Settings"): `cairn serve --config FILE`, the environment
/// (`CAIRN_STORE`/`CAIRN_DB`, `CAIRN_ZONES`) and the flags, with flag > environment > file > default, through the
/// real binary.
@Suite struct SettingsTests {
    /// The environment of this process plus `extra`, without the variables of the settings (the test's own).
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for v in ["CAIRN_STORE", "CAIRN_DB", "CAIRN_ZONES", "CAIRN_API", "CAIRN_TOKEN"] { env[v] = nil }
        return env.merging(extra) { $1 }
    }

    /// `cairn ARGS` in `dir` with `env`, bounded: (status, output).
    static func run(_ args: [String], in dir: URL, env: [String: String] = [:]) throws -> (Int32, String) {
        try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/timeout"),
                                      ["--kill-after=5", "60", Paths.cairnBinary.path] + args, cwd: dir, env: environment(env))
    }

    @Test func serveTakesItsFlagsFromTheConfigFileTheEnvironmentOverridesItAndFlagsOverrideBoth() throws {
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let fileStore = env.dir.appendingPathComponent("from-file.sqlite").path
        let envStore = env.dir.appendingPathComponent("from-env.sqlite").path
        let config = try env.file("cairn.yaml", """
            # cairn serve --config: the flags' long names as keys
            zones: \(env.zones)
            db: \(fileStore)
            dns: [127.0.0.1:0]
            api: 127.0.0.1:0
            log-format: json
            rrl-exempt:
              - 192.0.2.0/24
              - 2001:db8::/32
            allow-command-monitors: false
            drill-require-reason: true
            """)
        // the file alone
        let a = try CairnProcess(["serve", "--config", config])
        #expect(a.stderr.value.contains("\"event\":\"store.created\"") && a.stderr.value.contains(fileStore), "\(a.stderr.value)")
        #expect(a.stderr.value.split(separator: "\n").allSatisfy { $0.hasPrefix("{") }, "log-format json from the file: \(a.stderr.value)")
        a.stop()
        // the environment over the file (CAIRN_STORE over db:), a flag over the file (--log-format)
        let b = try CairnProcess(["serve", "--config", config, "--log-format", "journald"], environment: ["CAIRN_STORE": envStore])
        #expect(b.stderr.value.contains("creating a new, empty store at \(envStore)"), "\(b.stderr.value)")
        #expect(b.stderr.value.split(separator: "\n").allSatisfy { $0.hasPrefix("<") }, "--log-format beats the file: \(b.stderr.value)")
        b.stop()
        // a flag over the environment: --db beats CAIRN_DB (and the file)
        let flagStore = env.dir.appendingPathComponent("from-flag.sqlite").path
        let c = try CairnProcess(["serve", "--config", config, "--db", flagStore], environment: ["CAIRN_DB": envStore])
        #expect(c.stderr.value.contains(flagStore) && !c.stderr.value.contains(envStore), "\(c.stderr.value)")
        c.stop()
        #expect(FileManager.default.fileExists(atPath: fileStore) && FileManager.default.fileExists(atPath: flagStore))
    }

    @Test func aConfigFileWithUnknownKeysIsRefusedNamingEachWithTheNearestFlag() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try "zonez: zones\nmax-udp-sise: 1232\ndns: 127.0.0.1:0\nwhatever: 1\nlog-level: [info, debug]\nno-cookies: maybe\n"
            .write(to: dir.appendingPathComponent("c.yaml"), atomically: true, encoding: .utf8)
        let (st, out) = try Self.run(["serve", "--config", "c.yaml"], in: dir)
        #expect(st == 64, "\(out)")
        #expect(out.contains(#"--config c.yaml: zonez: unknown key (did you mean "zones"?)"#), "\(out)")
        #expect(out.contains(#"--config c.yaml: max-udp-sise: unknown key (did you mean "max-udp-size"?)"#), "\(out)")
        #expect(out.contains("--config c.yaml: whatever: unknown key"), "\(out)")
        // every problem in one run: the values of the wrong shape too
        #expect(out.contains("--config c.yaml: log-level: takes one value, not a list"), "\(out)")
        #expect(out.contains("--config c.yaml: no-cookies: true or false"), "\(out)")
        #expect(!out.contains("USAGE"), "\(out)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("cairn.sqlite").path), "nothing started")
        // a value of the wrong shape: a list for a single-valued flag, a flag that is not true/false
        try "log-level: [info, debug]\nno-cookies: maybe\n".write(to: dir.appendingPathComponent("d.yaml"), atomically: true, encoding: .utf8)
        let (st2, out2) = try Self.run(["serve", "--config", "d.yaml"], in: dir)
        #expect(st2 == 64 && out2.contains("log-level: takes one value, not a list") && out2.contains("no-cookies: true or false"), "\(out2)")
        // a file that is not there
        let (st3, out3) = try Self.run(["serve", "--config", "nope.yaml"], in: dir)
        #expect(st3 == 64 && out3.contains("--config nope.yaml: cannot read it"), "\(out3)")
    }

    @Test func everyFlagOfServeIsAKeyOfTheConfigFile() throws {
        // The shipped example sets most of them; each key must be one serve takes (an unknown one would be refused).
        let (st, help) = try CairnProcess.run(["serve", "--help"])
        try #require(st == 0)
        let flags = Set(help.matches(of: #/--([a-z0-9-]+)/#).map { String($0.output.1) })
            .subtracting(["help", "version", "config"])
        #expect(flags.count > 50)
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Every flag as a key with a value of the wrong kind for most: what comes back must never be "unknown key".
        let yaml = flags.sorted().map { "\($0): \"x\"" }.joined(separator: "\n")
        try yaml.write(to: dir.appendingPathComponent("all.yaml"), atomically: true, encoding: .utf8)
        let (st2, out) = try Self.run(["serve", "--config", "all.yaml"], in: dir)
        #expect(st2 != 0)
        #expect(!out.contains("unknown key"), "\(out)")
    }

    @Test func commandsFindTheStoreTheSameWayFlagThenEnvironmentThenDefault() throws {
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let gslb = try env.file("gslb.yaml", GSLBTests.config())
        let store = env.dir.appendingPathComponent("env.sqlite").path
        let elsewhere = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        // apply creates the environment's store (and reads the environment's zones), saying where
        let (st, out) = try Self.run(["apply", "-f", gslb], in: elsewhere, env: ["CAIRN_STORE": store, "CAIRN_ZONES": env.zones])
        #expect(st == 0 && out.contains("created a new, empty store at \(store)"), "\(out)")
        // export, token, backup and offline explain read it through CAIRN_DB, the alias
        let (st2, exported) = try Self.run(["export"], in: elsewhere, env: ["CAIRN_DB": store])
        #expect(st2 == 0 && exported.contains("name: www.gslb.test."), "\(exported)")
        let (st3, token) = try Self.run(["token", "create", "--scope", "read"], in: elsewhere, env: ["CAIRN_DB": store])
        #expect(st3 == 0 && !token.contains("created a new"), "\(token)")
        let (st4, list) = try Self.run(["token", "list"], in: elsewhere, env: ["CAIRN_STORE": store])
        #expect(st4 == 0 && list.contains("read"), "\(list)")
        let (st5, backup) = try Self.run(["backup", "b.sqlite"], in: elsewhere, env: ["CAIRN_STORE": store])
        #expect(st5 == 0 && backup.contains("backed up \(store) to b.sqlite"), "\(backup)")
        let (st6, explained) = try Self.run(["explain", "www.gslb.test", "--zones", env.zones], in: elsewhere, env: ["CAIRN_STORE": store])
        #expect(st6 == 0 && explained.contains("pool:"), "\(explained)")
        // a flag beats the environment: --db names a store that is not there, so export refuses it
        let (st7, refused) = try Self.run(["export", "--db", "other.sqlite"], in: elsewhere, env: ["CAIRN_STORE": store])
        #expect(st7 == 1 && refused.contains("no store at \(elsewhere.path)/other.sqlite"), "\(refused)")
        // no flag, no environment: cairn.sqlite in the working directory (not there: refused, not created)
        let (st8, none) = try Self.run(["export"], in: elsewhere)
        #expect(st8 == 1 && none.contains("no store at \(elsewhere.path)/cairn.sqlite"), "\(none)")
    }

    /// contrib/cairn.service runs `serve --config /etc/cairn/cairn.yaml`, and contrib/cairn.yaml (zones in /etc/cairn,
    /// the store in /var/lib/cairn, journald logs) is a file serve takes: run with it, only the privileged and
    /// absolute places overridden by flags.
    @Test func theShippedUnitAndConfigFileUseEtcCairnAndVarLibCairn() throws {
        let root = Paths.packageRoot
        let unit = try String(contentsOf: root.appendingPathComponent("contrib/cairn.service"), encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/cairn serve --config /etc/cairn/cairn.yaml --user cairn"))
        #expect(unit.contains("install -m 0644 contrib/cairn.yaml /etc/cairn/cairn.yaml"))
        let config = root.appendingPathComponent("contrib/cairn.yaml")
        let yaml = try String(contentsOf: config, encoding: .utf8)
        for line in ["zones: /etc/cairn/zones", "db: /var/lib/cairn/cairn.sqlite", "log-format: journald"] {
            #expect(yaml.contains("\n\(line)\n"), "contrib/cairn.yaml has no \(line)")
        }
        let docker = try String(contentsOf: root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        #expect(docker.contains("ENV CAIRN_ZONES=/etc/cairn/zones CAIRN_STORE=/var/lib/cairn/cairn.sqlite"))
        #expect(docker.contains("VOLUME [\"/var/lib/cairn\"]") && docker.contains("COPY zones /etc/cairn/zones"))
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let server = try CairnProcess(["serve", "--config", config.path, "--zones", env.zones, "--db", env.db,
                                       "--dns", "127.0.0.1:0", "--api", "127.0.0.1:0",
                                       "--pid-file", env.dir.appendingPathComponent("cairn.pid").path])
        let lines = server.stderr.value.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("<") }, "journald from the file: \(server.stderr.value)")
        #expect(try DNSClient.udp("gslb.test.", .soa, port: server.port).answer.count == 1)
    }

    /// The example file of docs/operations.md, "Settings", is one `cairn serve` takes (its privileged and absolute
    /// places overridden by flags).
    @Test func theDocumentedExampleFileServes() throws {
        let page = try String(contentsOf: OperationsDocTests.page, encoding: .utf8)
        let section = try #require(page.range(of: "\n## Settings\n").map { page[$0.upperBound...] })
        let block = try #require(section.firstMatch(of: #/```yaml\n((?:.|\n)*?)```/#)).output.1
        #expect(block.contains("zones:") && block.contains("log-format:"))
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let file = try env.file("example.yaml", String(block))
        let server = try CairnProcess(["serve", "--config", file, "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0",
                                       "--api", "127.0.0.1:0", "--pid-file", env.dir.appendingPathComponent("cairn.pid").path])
        #expect(try DNSClient.udp("gslb.test.", .soa, port: server.port).answer.count == 1)
    }
}
