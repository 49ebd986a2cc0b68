import DNSWire
import Foundation
import Testing

/// The README's and docs/policies.md's examples, run for real: `examples/gslb.yaml`
/// applied with `cairn apply` to a fresh SQLite file for `zones/`, `cairn serve` on a
/// free port, then every command of every ```console block of those pages is run
/// (`dig` against that server, `cairn explain` against that store) and its output must
/// be exactly what the page shows.
@Suite(.serialized) struct DocsExampleTests {
    /// The pages whose ```console blocks are executable examples.
    static let pages = ["README.md", "docs/policies.md"]

    struct Example {
        let page: String
        let line: Int
        let command: String
        let expected: [String]
    }

    /// `$ command` lines of ```console blocks, each with the lines after it as its output.
    static func examples(in page: String) throws -> [Example] {
        let text = try String(contentsOf: Paths.fixture(page), encoding: .utf8)
        var out: [Example] = []
        var inBlock = false
        var current: (line: Int, command: String, output: [String])?
        func flush() {
            if let c = current { out.append(Example(page: page, line: c.line, command: c.command, expected: c.output)) }
            current = nil
        }
        for (i, raw) in text.components(separatedBy: "\n").enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if !inBlock {
                if line == "```console" { inBlock = true }
                continue
            }
            if line.hasPrefix("```") { flush(); inBlock = false; continue }
            if raw.hasPrefix("$ ") {
                flush()
                current = (i + 1, String(raw.dropFirst(2)), [])
            } else {
                current?.output.append(raw)
            }
        }
        flush()
        return out
    }

    /// A store with the example file applied, and the server answering from it.
    final class Env {
        let dir: URL
        let db: String
        let zones = Paths.fixture("zones").path
        let server: CairnProcess
        /// A read token for the API (`cairn explain` without --db/--zones asks the server).
        let token: String

        init() throws {
            dir = try Paths.tempDir()
            db = dir.appendingPathComponent("cairn.sqlite").path
            let (rc, out) = try CairnProcess.run(["apply", "-f", Paths.fixture("examples/gslb.yaml").path,
                                                  "--db", db, "--zones", zones])
            guard rc == 0 else { throw EnvError.apply(out) }
            let (trc, tout) = try CairnProcess.run(["token", "create", "--scope", "read", "--db", db])
            guard trc == 0 else { throw EnvError.apply(tout) }
            token = String(tout.split(separator: "\n").last ?? "")
            // RRL off: the weights check below asks one name 300 times as fast as it can from 127.0.0.1,
            // past the default limit of 200 a second (which would drop or truncate half of the rest).
            server = try CairnProcess(["serve", "--zones", zones, "--db", db, "--dns", "127.0.0.1:0", "--udp-workers", "1",
                                       "--rrl-ratelimit", "0"])
        }

        deinit {
            server.stop()
            try? FileManager.default.removeItem(at: dir)
        }
    }

    enum EnvError: Error { case apply(String), unknownCommand(String) }

    /// Runs `argv` to completion: (status, stdout), through a file and with a time limit (`runCapturing`).
    static func runTool(_ path: String, _ args: [String], environment: [String: String]? = nil) throws -> (Int32, String) {
        try CairnProcess.runCapturing(URL(fileURLWithPath: path), args, env: environment, withStderr: false)
    }

    /// Runs one documented command against `env`: `dig ... -p 5300 ...` goes to the test
    /// server's port; `cairn ...` / `.build/debug/cairn ...` runs the built binary with the
    /// test store and the repository's zones (unless the command names its own).
    static func run(_ command: String, env: Env) throws -> (Int32, String) {
        var words = command.split(separator: " ").map(String.init)
        guard let tool = words.first else { throw EnvError.unknownCommand(command) }
        words.removeFirst()
        switch tool {
        case "dig":
            if let i = words.firstIndex(of: "-p"), i + 1 < words.count { words[i + 1] = String(env.server.port) }
            return try runTool("/usr/bin/dig", words + ["+time=2", "+tries=2"])
        case "cairn", ".build/debug/cairn", ".build/release/cairn":
            if words.first == "explain" && !words.contains("--db") && !words.contains("--zones") {
                // Through the running server's API, as the page says.
                return try runTool(Paths.cairnBinary.path, words, environment: [
                    "CAIRN_API": env.server.apiBase, "CAIRN_TOKEN": env.token, "PATH": "/usr/bin:/bin"])
            }
            if !words.contains("--db") { words += ["--db", env.db] }
            if !words.contains("--zones") { words += ["--zones", env.zones] }
            return try runTool(Paths.cairnBinary.path, words)
        default:
            throw EnvError.unknownCommand(command)
        }
    }

    static func lines(_ s: String) -> [String] {
        var l = s.components(separatedBy: "\n").map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
        while l.last == "" { l.removeLast() }
        return l
    }

    @Test(arguments: DocsExampleTests.pages)
    func everyConsoleExampleOfThePagePrintsWhatThePageShows(page: String) throws {
        let examples = try Self.examples(in: page)
        #expect(!examples.isEmpty, "\(page) has no ```console examples")
        let env = try Env()
        for ex in examples {
            let (rc, out) = try Self.run(ex.command, env: env)
            #expect(rc == 0, "\(ex.page):\(ex.line): `\(ex.command)` exited \(rc)")
            let got = Self.lines(out), want = Self.lines(ex.expected.joined(separator: "\n"))
            #expect(got == want, """
                \(ex.page):\(ex.line): `\(ex.command)` printed
                \(got.joined(separator: "\n"))
                but the page shows
                \(want.joined(separator: "\n"))
                """)
        }
    }

    @Test func theReadmeShowsThePoolAnsweringDifferentlyForClientsInDifferentPlaces() throws {
        let digs = try Self.examples(in: "README.md").filter { $0.command.hasPrefix("dig ") && $0.command.contains("+subnet=") }
        #expect(digs.count >= 2, "README: at least two `dig ... +subnet=` examples")
        #expect(Set(digs.map(\.expected)).count >= 2, "README: the +subnet examples must show different answers")
        #expect(try Self.examples(in: "README.md").contains { $0.command.contains("cairn explain") }, "README: a `cairn explain` example")
    }

    static func ecs(_ a: [UInt8], _ p: UInt8) -> [(code: UInt16, data: [UInt8])] { [QueryBuilder.clientSubnet(address: a, prefix: p)] }
    static func addresses(_ m: Message) -> [String] { m.answer.map { RDataText.format(type: $0.type, rdata: $0.rdata) } }
    /// The ECS option of a response: [FAMILY(2), SOURCE, SCOPE, ADDRESS...].
    static func ecsOption(_ m: Message) -> [UInt8]? { m.ednsOptions.first { $0.code == 8 }?.data }

    /// What docs/policies.md says about the scope and the answers of the example file,
    /// checked on the wire (UDP and TCP) with the tests' own client.
    @Test func theExampleAnswersAndECSScopesOfPoliciesMd() throws {
        let env = try Env()
        let port = env.server.port
        let cases: [([UInt8], UInt8, String, UInt8)] = [
            ([192, 0, 2, 0], 24, "192.0.2.101", 24),        // region eu → fra
            ([198, 51, 100, 0], 24, "198.51.100.101", 24),  // region us → iad
            ([203, 0, 113, 0], 24, "203.0.113.101", 24),    // region ap → sin
            ([10, 1, 0, 0], 16, "192.0.2.101", 8),          // 10/8 → site fra, scope of the /8 entry
            ([100, 64, 1, 0], 24, "192.0.2.101", 10),       // 100.64/10 → Paris → nearest fra
            ([10, 0, 0, 0], 7, "192.0.2.101", 7),           // /7 is shorter than every entry: no match, base order, scope min(7, 24)
            ([0, 0, 0, 0], 0, "192.0.2.101", 0),            // SOURCE 0: no match
        ]
        for (a, p, want, scope) in cases {
            let r = try DNSClient.udp("www.example.com.", .a, port: port, edns: (1232, false), options: Self.ecs(a, p))
            #expect(Self.addresses(r) == [want], "ECS \(a)/\(p)")
            #expect(r.answer.first?.ttl == 30)
            let opt = try #require(Self.ecsOption(r), "ECS \(a)/\(p): option echoed")
            #expect(opt[2] == p && opt[3] == scope, "ECS \(a)/\(p): scope \(opt[3]), documented \(scope)")
        }
        let v6 = try DNSClient.udp("www.example.com.", .aaaa, port: port, edns: (1232, false),
                                   options: Self.ecs([0x20, 0x01, 0x0d, 0xb8, 0, 1], 48))
        #expect(Self.addresses(v6) == ["2001:db8:200::101"])
        #expect(Self.ecsOption(v6)?[3] == 48)
        // No ECS: 127.0.0.1 matches no topology entry → the file's first member; same over TCP.
        #expect(Self.addresses(try DNSClient.udp("www.example.com.", .a, port: port)) == ["192.0.2.101"])
        #expect(Self.addresses(try DNSClient.tcp("www.example.com.", .a, port: port)) == ["192.0.2.101"])
        // api: ecs false → scope 0; weighted 60/30 between fra and iad, never the drained sin.
        var seen: [String: Int] = [:]
        for i in 0..<300 {
            let r = try DNSClient.udp("api.example.com.", .a, port: port, edns: (1232, false),
                                      options: Self.ecs([198, 51, 100, 0], 24), id: UInt16(i))
            #expect(Self.ecsOption(r)?[3] == 0)
            #expect(r.answer.first?.ttl == 20)
            for a in Self.addresses(r) { seen[a, default: 0] += 1 }
        }
        #expect(seen["203.0.113.102"] == nil, "drained member answered")
        #expect(Set(seen.keys) == ["192.0.2.102", "198.51.100.102"])
        #expect((seen["192.0.2.102"] ?? 0) > (seen["198.51.100.102"] ?? 0), "weights 60/30: \(seen)")
    }
}
