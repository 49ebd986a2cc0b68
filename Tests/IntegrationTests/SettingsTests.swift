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
}
