import Foundation
import Testing

/// The status page (`GET /` on the admin API) in a real headless Chromium (Debian's `chromium`, installed by
/// scripts/setup-deps): it signs in with a read token, shows the members' states, and shows a member go down
/// after its backend is killed. The page is driven through Chromium's own `--dump-dom` (the DOM once its
/// script has run) and `--screenshot`; the token goes in the URL's fragment, which the browser never sends.
@Suite(.serialized) struct StatusPageTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs headless Chromium on `url` (loopback only) and returns the DOM after its scripts ran.
    static func render(_ url: String, extra: [String] = []) throws -> String {
        let exe = try #require(chromium, "no chromium: scripts/setup-deps installs it")
        let profile = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: profile) }
        let (_, out) = try CairnProcess.runCapturing(
            URL(fileURLWithPath: "/usr/bin/timeout"),
            ["60", exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--disable-background-networking", "--disable-sync", "--disable-component-update", "--no-default-browser-check",
             "--user-data-dir=\(profile.path)", "--virtual-time-budget=4000"] + extra + [url])
        return out
    }

    /// The text of the `<tr>` rows of the members table whose cells contain `address`.
    static func memberRow(_ dom: String, _ address: String) -> String? {
        guard let t = dom.range(of: "<table id=\"members\">"), let end = dom[t.upperBound...].range(of: "</table>") else { return nil }
        return dom[t.upperBound..<end.lowerBound].components(separatedBy: "<tr>").first { $0.contains(">\(address)<") }
    }

    @Test func aSignedInBrowserSeesMembersAndAMemberGoDownAfterItsBackendIsKilled() throws {
        let p = Backend.freePort()
        let a = try Backend("127.0.0.101", p, mode: "ok")
        let b = try Backend("127.0.0.102", p, mode: "ok")
        _ = a
        let yaml = HealthTests.pool(monitor: "{name: m, type: http, port: \(p), path: /, interval: 200ms, timeout: 150ms, rise: 1, fall: 1}",
                                    members: [("127.0.0.101", p), ("127.0.0.102", p)])
        let (env, server) = try HealthTests.setup(yaml)
        defer { server.stop(); try? FileManager.default.removeItem(at: env.dir) }
        #expect(try HealthTests.waitFor(["127.0.0.101", "127.0.0.102"], port: server.port) == ["127.0.0.101", "127.0.0.102"])
        let (_, created) = try CairnProcess.run(["token", "create", "--scope", "read", "--name", "status-page", "--db", env.db])
        let token = try #require(created.split(separator: "\n").last.map(String.init))
        let page = server.apiBase + "/"

        // The page itself is static and served with a strict CSP; without a token it asks for one.
        let raw = try AdminHTTP.request("GET", port: server.apiPort, "/")
        #expect(raw.status == 200 && raw.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(raw.headers["content-security-policy"]?.contains("script-src 'self'") == true)
        #expect(!raw.body.contains("127.0.0.101"), "the page carries no data itself")
        let anonymous = try Self.render(page, extra: ["--dump-dom"])
        #expect(anonymous.contains("<form id=\"signin\">"), "no sign-in form shown: \(anonymous.prefix(1500))")

        // Signed in: both members up.
        let dom = try Self.render(page + "#token=" + token, extra: ["--dump-dom"])
        let rowB = Self.memberRow(dom, "127.0.0.102") ?? ""
        #expect(rowB.contains("<td class=\"up\">up</td>"), "member row: \(rowB)\n\(dom.prefix(3000))")
        #expect(dom.contains("<table id=\"nodes\">"))

        // Kill b's backend: the page shows it down (refreshed within the probe's fall time).
        b.kill()
        var down = ""
        let deadline = Date().addingTimeInterval(20)
        repeat {
            down = Self.memberRow(try Self.render(page + "#token=" + token, extra: ["--dump-dom"]), "127.0.0.102") ?? ""
        } while !down.contains("<td class=\"down\">down</td>") && Date() < deadline
        #expect(down.contains("<td class=\"down\">down</td>"), "after the kill: \(down)")

        // A screenshot of that page (docs/operations.md shows one made this way).
        let shot = env.dir.appendingPathComponent("status.png")
        _ = try Self.render(page + "#token=" + token, extra: ["--screenshot=\(shot.path)", "--window-size=1280,900", "--hide-scrollbars"])
        let png = try Data(contentsOf: shot)
        #expect(png.count > 10_000 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG of a page: \(png.count) bytes")
        if let keep = ProcessInfo.processInfo.environment["CAIRN_STATUS_SCREENSHOT"] {
            try png.write(to: URL(fileURLWithPath: keep))
        }

        // A refused token: back to the sign-in form, saying why.
        let refused = try Self.render(page + "#token=cairn_" + String(repeating: "x", count: 43), extra: ["--dump-dom"])
        #expect(refused.contains("the token was refused (401)"), "\(refused.prefix(2000))")
    }
}
