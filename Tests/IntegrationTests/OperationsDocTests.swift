import Foundation
import Testing

/// docs/operations.md: its `<!-- test -->` shell blocks run, in order, in one shell; its flag
/// table covers every flag of `cairn serve`; contrib/cairn.service passes systemd's checks.
@Suite struct OperationsDocTests {
    static let page = Paths.packageRoot.appendingPathComponent("docs/operations.md")

    /// The ```sh blocks right after a `<!-- test -->` line.
    static func testedBlocks(_ text: String) -> [String] {
        var blocks: [String] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
        while let line = lines.popFirst() {
            guard line.trimmingCharacters(in: .whitespaces) == "<!-- test -->" else { continue }
            guard lines.first == "```sh" else { continue }
            lines = lines.dropFirst()
            var body: [Substring] = []
            while let l = lines.popFirst(), l != "```" { body.append(l) }
            blocks.append(body.joined(separator: "\n"))
        }
        return blocks
    }

    static func freePorts(_ n: Int) throws -> [Int] {
        let script = """
        import socket, sys
        ports, held = [], []
        while len(ports) < int(sys.argv[1]):
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try: u.bind(("127.0.0.1", p))
            except OSError: continue
            held += [t, u]; ports.append(p)
        print(" ".join(map(str, ports)))
        """
        let (st, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", script, String(n)])
        try #require(st == 0, "\(out)")
        return out.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
    }

    @Test func theMarkedShellExamplesRun() throws {
        let text = try String(contentsOf: Self.page, encoding: .utf8)
        let blocks = Self.testedBlocks(text)
        #expect(blocks.count >= 6, "expected the quick start, token, backup, restore, explain, health and stop blocks")

        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for sub in ["zones", "examples"] {
            try FileManager.default.copyItem(at: Paths.packageRoot.appendingPathComponent(sub), to: dir.appendingPathComponent(sub))
        }
        let ports = try Self.freePorts(2)
        var script = """
        set -euo pipefail
        export PATH="\(Paths.cairnBinary.deletingLastPathComponent().path):$PATH"
        # whatever happens, no server of the examples survives the test
        trap 'if [ -f cairn.pid ]; then kill "$(cat cairn.pid)" 2>/dev/null || true; fi' EXIT

        """
        for (i, b) in blocks.enumerated() {
            let b = b.replacingOccurrences(of: "127.0.0.1:5300", with: "127.0.0.1:\(ports[0])")
                .replacingOccurrences(of: "-p 5300", with: "-p \(ports[0])")
                .replacingOccurrences(of: "127.0.0.1:9053", with: "127.0.0.1:\(ports[1])")
            script += "echo '=== block \(i + 1)'\n\(b)\n"
        }
        let file = dir.appendingPathComponent("examples.sh")
        try script.write(to: file, atomically: true, encoding: .utf8)
        // bounded: every wait in the blocks is bounded, timeout(1) is the last guard
        let (st, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/timeout"),
                                                      ["--kill-after=5", "180", "/bin/bash", file.path], cwd: dir)
        let log = (try? String(contentsOf: dir.appendingPathComponent("cairn.log"), encoding: .utf8)) ?? ""
        #expect(st == 0, "the examples failed (status \(st)):\n\(out)\n--- cairn.log:\n\(log)")

        // what each block shows
        #expect(out.contains("\"status\":\"ready\""), "readyz: \(out)")
        #expect(out.contains("ns1.example.com. hostmaster.example.com."), "SOA: \(out)")
        #expect(out.contains("198.51.100.101"), "www for 198.51.100.0/24: \(out)")
        #expect(out.contains("\"generation\""), "POST /v1/zones/reload: \(out)")
        #expect(out.contains("xfr.example.  hmac-sha256"), "cairn tsig list: \(out)")
        #expect(out.contains("TSIG key xfr.example removed"), "cairn tsig remove: \(out)")
        #expect(!out.contains("Couldn't verify"), "dig -k verifies the signed answer: \(out)")
        #expect(out.contains("backed up cairn.sqlite to cairn-backup.sqlite"))
        #expect(out.contains("-rw------- "), "the backup is 0600: \(out)")
        #expect(out.contains("name: www.example.com."), "export after the restore: \(out)")
        #expect(out.contains("chosen by closest"), "explain: \(out)")
        #expect(out.contains("{\"status\":\"ok\"}"), "healthz: \(out)")
        #expect(out.contains("\"members\""), "/v1/health: \(out)")
        // the token file is 0600, the server is gone, its pid file removed
        var s = stat()
        #expect(stat(dir.appendingPathComponent("write.token").path, &s) == 0 && s.st_mode & 0o777 == 0o600)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("cairn.pid").path))
        // the restore replaced the store: the old one was moved aside
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("replaced/cairn.sqlite").path))
    }

    @Test func theFlagTableCoversEveryFlagOfCairnServe() throws {
        let text = try String(contentsOf: Self.page, encoding: .utf8)
        let (st, help) = try CairnProcess.run(["serve", "--help"])
        #expect(st == 0)
        let flags = Set(help.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," })
            .filter { $0.hasPrefix("--") && $0 != "--help" }.map(String.init))
        #expect(flags.count >= 15)
        let table = text.split(separator: "\n").filter { $0.hasPrefix("| `--") }
        for f in flags {
            #expect(table.contains { $0.hasPrefix("| `\(f)") }, "docs/operations.md has no row for \(f)")
        }
    }

    @Test func theSystemdUnitVerifies() throws {
        let analyze = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        let unit = try String(contentsOf: Paths.packageRoot.appendingPathComponent("contrib/cairn.service"), encoding: .utf8)
        // Settings, not comments (the unit's comments mention the alternatives).
        let settings = unit.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        #expect(settings.contains("--user cairn"))
        for key in ["NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=cairn", "ExecReload=/bin/kill -HUP $MAINPID",
                    "CapabilityBoundingSet="] {
            #expect(settings.contains(key), "contrib/cairn.service has no \(key)")
        }
        try #require(FileManager.default.isExecutableFile(atPath: analyze.path), "no systemd-analyze: scripts/setup-deps installs systemd")
        // verify needs ExecStart's binary to exist: point it at the built one
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("cairn.service")
        try unit.replacingOccurrences(of: "/usr/local/bin/cairn", with: Paths.cairnBinary.path)
            .write(to: copy, atomically: true, encoding: .utf8)
        let (st, out) = try CairnProcess.runCapturing(analyze, ["verify", copy.path])
        #expect(st == 0 && out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "systemd-analyze verify: \(out)")
    }

    /// `docs/PAGE.md, "Section"` references in the unit, the image, compose and the scripts name a heading
    /// that exists (contrib/cairn.service pointed to a "Running under systemd" that did not).
    @Test func sectionReferencesNameHeadingsThatExist() throws {
        let root = Paths.packageRoot
        let fm = FileManager.default
        var files = ["contrib/cairn.service", "Dockerfile", "docker-compose.yml", "README.md"]
        files += try fm.contentsOfDirectory(atPath: root.appendingPathComponent("scripts").path).map { "scripts/\($0)" }
        let reference = try Regex(#"(docs/[a-z0-9-]+\.md), "([^"]+)""#)
        var checked = 0
        for file in files {
            let url = root.appendingPathComponent(file)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue,
                  let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            for m in text.matches(of: reference) {
                let page = String(text[m.output[1].range!]), section = String(text[m.output[2].range!])
                let doc = try String(contentsOf: root.appendingPathComponent(page), encoding: .utf8)
                let headings = doc.split(separator: "\n").filter { $0.hasPrefix("#") }
                    .map { $0.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces) }
                #expect(headings.contains(section), "\(file) refers to \(page), \"\(section)\", which has no such heading")
                checked += 1
            }
        }
        #expect(checked >= 2)
    }
}
