import Foundation
import Testing

/// `cairn serve --user NAME`: binds port 53 as root, then runs as NAME with no capabilities
/// and NoNewPrivs (Sources/CairnDaemon/Privileges.swift).
///
/// DEPENDS ON the `--user` flag of `cairn serve` (Serve.swift calling Privileges.lookup,
/// forbidNewPrivileges, prepareFiles and drop). Needs root; skipped otherwise.
@Suite(.serialized) struct PrivilegeTests {
    /// A loopback address whose port 53 is free for UDP and TCP (127.0.0.1:53 may be taken
    /// by a local resolver). Other tests never use port 53.
    static func freePort53() throws -> String? {
        let script = """
        import socket, sys
        for a in sys.argv[1:]:
            try:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((a, 53))
                t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind((a, 53))
                u.close(); t.close(); print(a); sys.exit(0)
            except OSError:
                pass
        sys.exit(1)
        """
        let (st, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/python3"),
                                                      ["-c", script, "127.0.0.53", "127.0.1.53", "127.0.2.53", "127.0.3.53"])
        return st == 0 ? out.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    static func status(_ path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var f: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let c = line.firstIndex(of: ":") else { continue }
            f[String(line[..<c])] = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        return f
    }

    static func ids(_ field: String?) -> [UInt32] {
        field?.split(whereSeparator: \.isWhitespace).compactMap { UInt32($0) } ?? []
    }

    @Test func serveBindsPort53AsRootThenRunsAsTheUserWithoutCapabilities() throws {
        guard getuid() == 0 else { try Test.cancel("needs root (binds port 53, then switches users)") }
        guard let nobody = getpwnam("nobody") else { try Test.cancel("no user nobody") }
        let uid = nobody.pointee.pw_uid, gid = nobody.pointee.pw_gid
        guard let addr = try Self.freePort53() else { try Test.cancel("port 53 is taken on 127.0.0.53 and 127.0.1-3.53") }

        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("cairn.sqlite").path
        // a token first, as root: its material lives in the store, which must end up 0600 and the user's
        let (tst, tout) = try CairnProcess.run(["token", "create", "--scope", "read", "--db", db])
        #expect(tst == 0, "\(tout)")

        let server = try CairnProcess(["serve", "--user", "nobody", "--zones", Paths.fixture("zones").path,
                                       "--db", db, "--dns", "\(addr):53", "--udp-workers", "2"])
        defer { server.stop() }
        let pid = server.process.processIdentifier

        // the drop comes right after the listeners: wait for it (bounded)
        var st: [String: String] = [:]
        for _ in 0..<100 {
            st = Self.status("/proc/\(pid)/status")
            if Self.ids(st["Uid"]).first == uid { break }
            usleep(50_000)
        }
        #expect(Self.ids(st["Uid"]) == [uid, uid, uid, uid], "Uid: \(st["Uid"] ?? "?")\n\(server.stderr.value)")
        #expect(Self.ids(st["Gid"]) == [gid, gid, gid, gid], "Gid: \(st["Gid"] ?? "?")")
        #expect(st["Groups"] == "\(gid)", "supplementary groups: \(st["Groups"] ?? "?")")
        #expect(st["NoNewPrivs"] == "1")
        for key in ["CapEff", "CapPrm", "CapInh", "CapAmb"] {
            #expect(st[key].flatMap { UInt64($0, radix: 16) } == 0, "\(key): \(st[key] ?? "?")")
        }
        // every thread, not only the main one (setuid from glibc reaches them all; NoNewPrivs
        // is inherited only by threads created after it was set)
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        #expect(tasks.count > 1)
        for t in tasks {
            let ts = Self.status("/proc/\(pid)/task/\(t)/status")
            guard !ts.isEmpty else { continue }   // the thread ended meanwhile
            #expect(Self.ids(ts["Uid"]).allSatisfy { $0 == uid } && ts["NoNewPrivs"] == "1"
                    && ts["CapEff"].flatMap { UInt64($0, radix: 16) } == 0 && ts["CapPrm"].flatMap { UInt64($0, radix: 16) } == 0,
                    "thread \(t) (\(ts["Name"] ?? "?")): Uid \(ts["Uid"] ?? "?"), CapEff \(ts["CapEff"] ?? "?"), NoNewPrivs \(ts["NoNewPrivs"] ?? "?")")
        }

        // DNS still answers on port 53, over UDP and TCP, and a SIGHUP reload works as the user
        let dig = URL(fileURLWithPath: "/usr/bin/dig")
        let (ust, uout) = try CairnProcess.runCapturing(dig, ["@\(addr)", "-p", "53", "example.com", "SOA", "+short", "+time=2", "+tries=2"])
        #expect(ust == 0 && uout.contains("ns1.example.com."), "\(uout)")
        server.signal(SIGHUP)
        let reloadDeadline = Date().addingTimeInterval(10)   // bounded; timing is not what is tested
        while !server.stderr.value.contains("SIGHUP: reloading zones") && Date() < reloadDeadline { usleep(50_000) }
        #expect(server.stderr.value.contains("SIGHUP: reloading zones"), "\(server.stderr.value)")
        let (tcpst, tcpout) = try CairnProcess.runCapturing(dig, ["@\(addr)", "-p", "53", "example.com", "SOA", "+short", "+tcp", "+time=2", "+tries=2"])
        #expect(tcpst == 0 && tcpout.contains("ns1.example.com."), "\(tcpout)")
        #expect(server.process.isRunning, "\(server.stderr.value)")

        // the store (with the token's hash) and its WAL files belong to the user, mode 0600
        for f in [db, db + "-wal", db + "-shm"] where FileManager.default.fileExists(atPath: f) {
            var s = stat()
            #expect(stat(f, &s) == 0)
            #expect(s.st_uid == uid, "\(f) is owned by uid \(s.st_uid)")
            #expect(s.st_mode & 0o777 == 0o600, "\(f) has mode \(String(s.st_mode & 0o777, radix: 8))")
        }
    }

    /// A state directory that belongs to the service user (as the image's did): that user can plant a symbolic
    /// link or a hard link where root will open and chown the store's files. Root must refuse both and hand
    /// nothing over (issue 14, "Privilege drop follows symlinks").
    @Test func storeFilesThatAreLinksAreRefusedAndNothingIsHandedOver() throws {
        guard getuid() == 0 else { try Test.cancel("needs root (switches users)") }
        guard let nobody = getpwnam("nobody") else { try Test.cancel("no user nobody") }
        let uid = nobody.pointee.pw_uid, gid = nobody.pointee.pw_gid
        let dir = try Paths.tempDir(), outside = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: outside) }
        #expect(chmod(dir.path, 0o755) == 0 && chown(dir.path, uid, gid) == 0)
        let victim = outside.appendingPathComponent("victim").path
        try "root's file\n".write(toFile: victim, atomically: false, encoding: .utf8)
        #expect(chmod(victim, 0o644) == 0)
        let db = dir.appendingPathComponent("cairn.sqlite").path
        let (tst, tout) = try CairnProcess.run(["token", "create", "--scope", "read", "--db", db])
        #expect(tst == 0, "\(tout)")

        func serveRefuses(_ what: String) throws {
            let p = try CairnProcess(["serve", "--user", "nobody", "--zones", Paths.fixture("zones").path, "--db", db,
                                      "--dns", "127.0.0.1:0", "--api", "127.0.0.1:0"], waitForListen: false)
            let deadline = Date().addingTimeInterval(10)
            while p.process.isRunning && Date() < deadline { usleep(50_000) }
            let running = p.process.isRunning
            p.stop()
            #expect(!running && p.process.terminationStatus != 0, "cairn serve started with \(what): \(p.stderr.value)")
            #expect(p.stderr.value.contains(what), "\(p.stderr.value)")
            var st = stat()
            #expect(stat(victim, &st) == 0)
            #expect(st.st_uid == 0 && st.st_mode & 0o777 == 0o644,
                    "\(what): the victim now has uid \(st.st_uid), mode \(String(st.st_mode & 0o777, radix: 8))")
            #expect((try? String(contentsOfFile: victim, encoding: .utf8)) == "root's file\n", "\(what): the victim was written")
        }
        // A symbolic link where SQLite's shared-memory file goes.
        try? FileManager.default.removeItem(atPath: db + "-shm")
        #expect(symlink(victim, db + "-shm") == 0)
        try serveRefuses("symbolic link")
        #expect(unlink(db + "-shm") == 0)
        // A second name (hard link) for the victim where the WAL goes.
        try? FileManager.default.removeItem(atPath: db + "-wal")
        #expect(link(victim, db + "-wal") == 0)
        try serveRefuses("hard links")
    }

    @Test func theAdminAPIAcceptsNothingBeforeTheDrop() throws {
        guard getuid() == 0 else { try Test.cancel("needs root (switches users)") }
        guard getpwnam("nobody") != nil else { try Test.cancel("no user nobody") }
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(chmod(dir.path, 0o755) == 0)
        let server = try CairnProcess(["serve", "--user", "nobody", "--zones", Paths.fixture("zones").path,
                                       "--db", dir.appendingPathComponent("cairn.sqlite").path, "--dns", "127.0.0.1:0"])
        defer { server.stop() }
        let log = server.stderr.value
        let dropped = try #require(log.range(of: "running as nobody"), "\(log)")
        let api = try #require(log.range(of: "cairn: listening api"), "\(log)")
        #expect(dropped.lowerBound < api.lowerBound, "the admin API listened before the privilege drop:\n\(log)")
        let reply = try AdminHTTP.request("GET", port: server.apiPort, "/healthz")
        #expect(reply.status == 200)
    }

    @Test func anUnknownUserIsRefusedBeforeAnythingIsBound() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (st, out) = try CairnProcess.run(["serve", "--user", "no-such-user-cairn", "--zones", Paths.fixture("zones").path,
                                              "--db", dir.appendingPathComponent("c.sqlite").path,
                                              "--dns", "127.0.0.1:0", "--api", ""])
        #expect(st != 0)
        #expect(out.contains("no-such-user-cairn"), "\(out)")
        #expect(!out.contains("cairn: listening"), "\(out)")
    }
}
