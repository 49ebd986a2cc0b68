import Foundation
import Testing

/// A token's scope bounds what it can cause: nothing a `write` token can do runs a program
/// (issue 14, "A write token runs programs"). Command monitors run only when the operator
/// started the server with `--allow-command-monitors`, are created and attached only with
/// `admin` scope, and `read` sees neither their argv nor their output (docs/security.md).
@Suite(.serialized) struct CommandMonitorTrustTests {
    /// A command monitor body whose program leaves `marker` behind and prints a secret line.
    static func monitorBody(_ name: String, marker: String) -> String {
        """
        {"name": "\(name)", "type": "command", "command": ["/bin/sh", "-c", "touch \(marker); echo secret-output-\(name)"],
         "interval": "200ms", "timeout": "150ms", "rise": 1, "fall": 1}
        """
    }

    static func waitForFile(_ path: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: path) { return true }
            usleep(50_000)
        }
        return FileManager.default.fileExists(atPath: path)
    }

    @Test func aWriteTokenCannotMakeTheServerRunAProgram() throws {
        let s = try AdminAPITests.start()
        defer { s.process.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        let marker = s.env.dir.appendingPathComponent("ran").path
        let before = try s.state()

        let create = try s.call("POST", "/v1/monitors", token: s.write, body: Self.monitorBody("c", marker: marker))
        #expect(create.status == 403, "\(create.status) \(create.body)")
        #expect(create.field == "type", "\(create.body)")
        // Not with admin either: the server was not started with --allow-command-monitors.
        let asAdmin = try s.call("POST", "/v1/monitors", token: s.admin, body: Self.monitorBody("c", marker: marker))
        #expect(asAdmin.status == 403, "\(asAdmin.status) \(asAdmin.body)")
        #expect(asAdmin.body.contains("--allow-command-monitors"), "\(asAdmin.body)")
        // Attaching it (were it there) changes nothing either.
        let attach = try s.call("PUT", "/v1/pools/www.gslb.test.?type=A", token: s.write,
                                body: #"{"policy": "closest", "ecs": true, "monitor": "c"}"#)
        #expect(attach.status >= 400, "\(attach.status) \(attach.body)")
        #expect(try s.state() == before, "a refused write changed the store")
        #expect(!Self.waitForFile(marker, seconds: 1.5), "the server ran a program a write token asked for")
    }

    @Test func storedCommandMonitorsRunOnlyWithTheStartFlag() throws {
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let marker = env.dir.appendingPathComponent("ran").path
        let yaml = """
        sites:
          - {name: a}
        monitors:
          - {name: c, type: command, command: ["/bin/sh", "-c", "touch \(marker)"], interval: 200ms, timeout: 150ms, rise: 1, fall: 1}
        pools:
          - {name: www.gslb.test., policy: all-healthy, fallback: none, monitor: c, members: [{site: a, address: 127.0.0.61}]}
        """
        let (rc, out) = try CairnProcess.run(["apply", "-f", try env.file("gslb.yaml", yaml), "--db", env.db, "--zones", env.zones])
        #expect(rc == 0, "\(out)")
        let admin = try AdminAPITests.token(env.db, "admin")
        let off = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0"])
        #expect(!Self.waitForFile(marker, seconds: 1.5), "a command monitor ran without --allow-command-monitors")
        let health = try AdminHTTP.request("GET", port: off.apiPort, "/v1/health", token: admin)
        #expect(health.body.contains("--allow-command-monitors"), "\(health.body)")
        #expect(off.stderr.value.contains("--allow-command-monitors"), "no warning at start: \(off.stderr.value)")
        off.stop()

        let on = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0", "--allow-command-monitors"])
        defer { on.stop() }
        #expect(Self.waitForFile(marker, seconds: 5), "the command monitor did not run with the flag: \(on.stderr.value)")
    }

    @Test func withTheFlagOnlyAdminCreatesOrAttachesThemAndReadSeesNoArgvNorOutput() throws {
        let s = try AdminAPITests.start(extra: ["--allow-command-monitors"])
        defer { s.process.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        let marker = s.env.dir.appendingPathComponent("ran").path

        let byWrite = try s.call("POST", "/v1/monitors", token: s.write, body: Self.monitorBody("c", marker: marker))
        #expect(byWrite.status == 403 && byWrite.field == "type", "\(byWrite.status) \(byWrite.body)")
        let byAdmin = try s.call("POST", "/v1/monitors", token: s.admin, body: Self.monitorBody("c", marker: marker))
        #expect(byAdmin.status == 201, "\(byAdmin.status) \(byAdmin.body)")
        // A write token may not change it either (its argv is what runs).
        let change = try s.call("PUT", "/v1/monitors/c", token: s.write, body: Self.monitorBody("c", marker: marker + "2"))
        #expect(change.status == 403, "\(change.status) \(change.body)")

        // Attaching an existing command monitor to members makes it run against them: admin only.
        let attach = #"{"policy": "closest", "ecs": true, "monitor": "c"}"#
        let attachByWrite = try s.call("PUT", "/v1/pools/www.gslb.test.?type=A", token: s.write, body: attach)
        #expect(attachByWrite.status == 403 && attachByWrite.field == "monitor", "\(attachByWrite.status) \(attachByWrite.body)")
        #expect(!Self.waitForFile(marker, seconds: 1), "the program ran before admin attached it")
        let attachByAdmin = try s.call("PUT", "/v1/pools/www.gslb.test.?type=A", token: s.admin, body: attach)
        #expect(attachByAdmin.status == 200, "\(attachByAdmin.status) \(attachByAdmin.body)")
        #expect(Self.waitForFile(marker, seconds: 5), "the admin-attached command monitor did not run")

        // A write that adds no new run (a weight) still works with write; a new member would run it: refused.
        let weight = try s.call("PUT", "/v1/pools/www.gslb.test./members/192.0.2.10?type=A", token: s.write,
                                body: #"{"site": "fra", "weight": 7}"#)
        #expect(weight.status == 200, "\(weight.status) \(weight.body)")
        let member = try s.call("POST", "/v1/pools/www.gslb.test./members?type=A", token: s.write,
                                body: #"{"site": "fra", "address": "192.0.2.99"}"#)
        #expect(member.status == 403 && member.field == "monitor", "\(member.status) \(member.body)")

        // Wait for a probe result to show, then look as read and as admin.
        var adminHealth = ""
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            adminHealth = try s.call("GET", "/v1/health", token: s.admin).body
            if adminHealth.contains("secret-output-c") { break }
            usleep(100_000)
        }
        #expect(adminHealth.contains("secret-output-c"), "admin sees the output: \(adminHealth)")
        for path in ["/v1/health", "/v1/monitors", "/v1/monitors/c", "/v1/audit?limit=1000"] {
            let r = try s.call("GET", path, token: s.read)
            #expect(r.status == 200, "\(path): \(r.status)")
            #expect(!r.body.contains("secret-output"), "\(path) shows a read token the program's output or argv: \(r.body)")
            #expect(!r.body.contains("/bin/sh"), "\(path) shows a read token the argv: \(r.body)")
        }
        let adminMonitor = try s.call("GET", "/v1/monitors/c", token: s.admin)
        #expect(adminMonitor.body.contains("/bin/sh"), "admin sees the argv: \(adminMonitor.body)")
    }
}
