import GSLBConfigFile
import GSLBCore
import Testing

@Suite struct RoundTripTests {
    func roundTrip(_ c: GSLBConfig, sourceLocation: SourceLocation = #_sourceLocation) {
        let text = ConfigFile.encode(c)
        let back = ConfigFile.decode(yaml: text)
        #expect(back.issues == [], "\(text)", sourceLocation: sourceLocation)
        #expect(back.config == c, "\(text)", sourceLocation: sourceLocation)
    }

    @Test func theIssueThreeExampleSurvivesEncodeThenDecode() throws {
        roundTrip(try #require(ConfigFile.decode(yaml: Files.fixture("issue3-example.yaml")).config))
    }

    @Test func theIssueFourMonitorsSurviveEncodeThenDecode() throws {
        roundTrip(try #require(ConfigFile.decode(yaml: Files.fixture("issue4-monitors.yaml")).config))
    }

    @Test func theExampleFileSurvivesEncodeThenDecode() throws {
        roundTrip(try #require(ConfigFile.decode(yaml: try Files.repo("examples/gslb.yaml")).config))
    }

    static let everyField = GSLBConfig(
        sites: [
            Site(name: "fra", region: "eu", location: GeoPoint(lat: 50.11, lon: 8.68), capacity: 1000.5, load: 12.25),
            Site(name: "syd", region: "ap", location: GeoPoint(lat: -33.87, lon: 151.21), capacity: 0, load: 0),
        ],
        pools: [
            Pool(name: "www.example.com.", type: "AAAA", policy: .consistentHash, ttl: 86400, answers: 16, ecs: false,
                 fallback: .pool("backup.example.com."), monitor: "web", rto: 0.25,
                 members: [
                    Member(site: "fra", address: "2001:db8::10", weight: 0, priority: 0, state: .disabled, monitor: "tcp",
                           probe: ProbeTarget(address: "10.1.2.3", port: 8443), load: 0.75),
                    Member(site: "syd", address: "2001:db8::11", weight: 65535, priority: 255, state: .drain,
                           probe: ProbeTarget(port: 80)),
                    Member(site: "syd", address: "2001:db8::12", probe: ProbeTarget(address: "2001:db8::99")),
                 ]),
            Pool(name: "backup.example.com.", type: "AAAA", policy: .allHealthy, ttl: 1, answers: 2, fallback: .servfail,
                 rto: 120, members: [Member(site: "fra", address: "2001:db8::20")]),
            Pool(name: "api.example.com.", policy: .leastLoaded, fallback: .none, rto: 3600,
                 members: [Member(site: "fra", address: "192.0.2.1")]),
            Pool(name: "rr.example.com.", policy: .roundRobin, rto: 0.0001234,
                 members: [Member(site: "fra", address: "192.0.2.2")]),
        ],
        monitors: [
            Monitor(name: "web", type: .https, port: 443, intervalMs: 1500, timeoutMs: 250, rise: 10, fall: 1,
                    options: ["path": "/healthz?full=1#x", "host": "www.example.com", "expect_status": "[200,204,301]",
                              "expect_body": "status: \"ok\" \\ done\n", "verify_tls": "false", "sni": "www.example.com",
                              "method": "GET", "load_header": "X-Load", "load_json": "stats.load"]),
            Monitor(name: "tcp", type: .tcp, port: 25, intervalMs: 120_000, timeoutMs: 59_999,
                    options: ["send": "EHLO cairn\r\n", "expect": "250"]),
            Monitor(name: "dns", type: .dns, port: 53, intervalMs: 3_600_000, timeoutMs: 100,
                    options: ["query": #"{"name":"health.example.net.","type":"AAAA"}"#, "expect_rcode": "NXDOMAIN",
                              "expect_address": "2001:db8::53"]),
            Monitor(name: "script", type: .command, intervalMs: 100, timeoutMs: 1,
                    options: ["command": #"["/bin/check","--port","{port}","{address}"]"#]),
        ],
        topology: [
            TopologyEntry(network: "203.0.113.0/24", region: "eu"),
            TopologyEntry(network: "2001:db8:1::/48", site: "syd"),
            TopologyEntry(network: "0.0.0.0/0", location: GeoPoint(lat: 0, lon: -0.5)),
        ])

    @Test func aConfigWithEveryOptionalFieldSetSurvivesEncodeThenDecode() {
        #expect(ExampleZone.validate(Self.everyField) == [])
        roundTrip(Self.everyField)
    }

    @Test func anEmptyConfigSurvivesEncodeThenDecode() {
        #expect(ConfigFile.encode(GSLBConfig()) == "sites: []\npools: []\nmonitors: []\ntopology: []\n")
        roundTrip(GSLBConfig())
    }

    @Test func theCanonicalFormOfTheIssueThreeExampleIsStable() throws {
        let c = try #require(ConfigFile.decode(yaml: Files.fixture("issue3-example.yaml")).config)
        #expect(ConfigFile.encode(c) == """
            sites:
              - {name: fra, region: eu, location: {lat: 50.11, lon: 8.68}, capacity: 1000}
              - {name: iad, region: us, location: {lat: 38.95, lon: -77.45}}
            pools:
              - name: www.example.com.
                type: A
                policy: closest
                ttl: 30
                answers: 1
                ecs: true
                fallback: all
                members:
                  - {site: fra, address: 192.0.2.10, weight: 100, priority: 1}
                  - {site: iad, address: 198.51.100.10, weight: 50, priority: 2, state: drain}
            monitors: []
            topology:
              - {network: 203.0.113.0/24, region: eu}

            """)
    }

    /// Text the writer must quote: YAML indicators, look-alikes of numbers, booleans, nulls and
    /// dates, whitespace, escapes, non-ASCII.
    static let awkward = ["", " ", "fra", "-", "-x", ".", "..", "#", "a #b", "a: b", "a:b", "[x]", "{x}", "x,y", "'", "\"",
                          "\\", "null", "Null", "~", "true", "FALSE", "yes", "no", "on", "0", "-1", "1.5", "1e3", "0x1f", "0o7",
                          "1_000", ".inf", ".NaN", "2026-11-28", "12:30", "@x", "`x", "!x", "&a", "*a", "|", ">", "%x",
                          "é", "日本", "🙂", "tab\there", "line\nbreak", "cr\r", "nul\u{0}", "del\u{7f}", "bom\u{feff}",
                          "ls\u{2028}", "nel\u{85}", " lead", "trail ", "a  b", "--- x", "...", "? x", "x ?"]

    @Test func stringsOfEveryShapeSurviveEncodeThenDecode() {
        for (i, s) in Self.awkward.enumerated() {
            let c = GSLBConfig(
                sites: [Site(name: s, region: s)],
                pools: [Pool(name: s + ".", type: "A", fallback: .pool(s + "."), monitor: s, members: [Member(site: s, address: s, monitor: s, probe: ProbeTarget(address: s))])],
                monitors: [Monitor(name: s, type: .http, options: ["expect_body": s, "path": #"["\#(i)"]"#,
                                                                     "host": JSONValue.array([.string(s)]).compactText,
                                                                     "query": JSONValue.object([.init(key: s, value: .string(s))]).compactText])],
                topology: [TopologyEntry(network: s, site: s)])
            roundTrip(c)
        }
    }

    @Test func randomConfigsSurviveEncodeThenDecode() {
        var rng = SplitMix(seed: 0x5EED)
        for _ in 0..<300 { roundTrip(RandomConfig.make(&rng)) }
    }
}

/// A deterministic generator (SplitMix64), so that a failure reproduces.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Configs with arbitrary values (not necessarily valid: the round trip holds for any pool
/// name with a trailing dot, any finite number and any positive duration).
enum RandomConfig {
    static func make(_ r: inout SplitMix) -> GSLBConfig {
        func pick<T>(_ a: [T]) -> T { a[Int.random(in: 0..<a.count, using: &r)] }
        func maybe<T>(_ v: @autoclosure () -> T) -> T? { Bool.random(using: &r) ? v() : nil }
        func text() -> String { pick(RoundTripTests.awkward + ["fra", "iad", "192.0.2.1", "2001:db8::1", "10.0.0.0/8"]) }
        func int() -> Int { pick([0, 1, -1, 30, 65535, 65536, Int.max, Int.min, Int.random(in: -1000...1000, using: &r)]) }
        func double() -> Double {
            pick([0, -0.0, 1, -77.45, 50.11, 1e-300, 1e300, 123_456_789.125, 0.1 + 0.2, Double.random(in: -1e6...1e6, using: &r),
                  Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude])
        }
        func point() -> GeoPoint { GeoPoint(lat: double(), lon: double()) }
        func ms() -> Int { pick([0, 1, 100, 999, 1000, 1500, 60_000, 3_600_000, 7_200_000, Int.random(in: 0...10_000_000, using: &r)]) }
        func json() -> JSONValue {
            pick([.string(text()), .number(pick(["0", "-1", "1.5", "2e10", "1E-3"])), .bool(true), .bool(false), .null,
                  .array([.string(text()), .number("200")]), .object([.init(key: text(), value: .array([]))]), .object([])])
        }
        let sites = (0..<Int.random(in: 0...3, using: &r)).map { _ in
            Site(name: text(), region: maybe(text()), location: maybe(point()), capacity: maybe(double()), load: maybe(double()))
        }
        let pools = (0..<Int.random(in: 0...3, using: &r)).map { _ in
            Pool(name: pick(["www.example.com.", "a.b.", "x y.", "\"q\".", "."]), type: pick(["A", "AAAA", "MX", ""]),
                 policy: pick(PolicyKind.allCases), ttl: int(), answers: int(), ecs: Bool.random(using: &r),
                 fallback: pick([.all, .none, .servfail, .pool(pick(["b.example.com.", "x:y.", "pool:z."]))]),
                 monitor: maybe(text()),
                 rto: maybe(pick([0.5, 1, 30, 90, 3600, 0.001, 1e-9, 12345.678, Double.random(in: 0.000001...100_000, using: &r)])),
                 members: (0..<Int.random(in: 0...3, using: &r)).map { _ in
                     Member(site: text(), address: text(), weight: int(), priority: int(), state: pick(AdminState.allCases),
                            monitor: maybe(text()), probe: maybe(ProbeTarget(address: maybe(text()), port: maybe(int()))),
                            load: maybe(double()))
                 })
        }
        let monitors = (0..<Int.random(in: 0...3, using: &r)).map { _ in
            var options: [String: String] = [:]
            for key in ConfigValidator.monitorOptionKeys where Bool.random(using: &r) {
                options[key] = Bool.random(using: &r) ? text() : json().compactText
            }
            return Monitor(name: text(), type: pick(MonitorType.allCases), port: maybe(int()), intervalMs: ms(), timeoutMs: ms(),
                           rise: int(), fall: int(), options: options)
        }
        let topology = (0..<Int.random(in: 0...3, using: &r)).map { _ in
            TopologyEntry(network: text(), region: maybe(text()), site: maybe(text()), location: maybe(point()))
        }
        return GSLBConfig(sites: sites, pools: pools, monitors: monitors, topology: topology)
    }
}
