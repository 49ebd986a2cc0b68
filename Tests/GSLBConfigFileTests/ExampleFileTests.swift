import DNSWire
import Foundation
import GSLBConfigFile
import GSLBCore
import Testing

@Suite struct ExampleFileTests {
    @Test func issueThreeExampleDecodesToTheConfigItDescribes() throws {
        let c = try #require(ConfigFile.decode(yaml: Files.fixture("issue3-example.yaml")).config)
        let expected = GSLBConfig(
            sites: [
                Site(name: "fra", region: "eu", location: GeoPoint(lat: 50.11, lon: 8.68), capacity: 1000),
                Site(name: "iad", region: "us", location: GeoPoint(lat: 38.95, lon: -77.45)),
            ],
            pools: [
                Pool(name: "www.example.com.", type: "A", policy: .closest, ttl: 30, answers: 1, ecs: true, fallback: .all,
                     members: [
                        Member(site: "fra", address: "192.0.2.10", weight: 100, priority: 1),
                        Member(site: "iad", address: "198.51.100.10", weight: 50, priority: 2, state: .drain),
                     ]),
            ],
            topology: [TopologyEntry(network: "203.0.113.0/24", region: "eu")])
        #expect(c == expected)
    }

    @Test func issueThreeExampleIsValidForTheExampleZone() {
        #expect(ExampleZone.issues(Files.fixture("issue3-example.yaml")) == [])
    }

    @Test func issueFourMonitorsDecodeWithTheirOptionsAsText() throws {
        let c = try #require(ConfigFile.decode(yaml: Files.fixture("issue4-monitors.yaml")).config)
        #expect(c.monitors == [
            Monitor(name: "web", type: .http, port: 80, intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 2,
                    options: ["path": "/healthz", "host": "www.example.com", "expect_status": "[200,204]", "expect_body": "ok"]),
            Monitor(name: "tls", type: .https, port: 443, intervalMs: 2000, timeoutMs: 1000, rise: 3, fall: 2,
                    options: ["path": "/", "verify_tls": "true"]),
            Monitor(name: "tcp443", type: .tcp, port: 443, intervalMs: 1000, timeoutMs: 300, rise: 2, fall: 2),
            Monitor(name: "dns", type: .dns, port: 53,
                    options: ["query": #"{"name":"health.example.net.","type":"A"}"#, "expect_rcode": "NOERROR"]),
            Monitor(name: "script", type: .command, intervalMs: 5000, timeoutMs: 2000,
                    options: ["command": #"["/usr/local/bin/check","{address}"]"#]),
        ])
        #expect(ExampleZone.issues(Files.fixture("issue4-monitors.yaml")) == [])
    }

    @Test func examplesGslbYamlIsValidForTheExampleZone() throws {
        let url = Files.root.appendingPathComponent("examples/gslb.yaml")
        let r = ConfigFile.load(path: url.path, zones: ExampleZone.zones, staticData: ExampleZone.staticData,
                                occluded: ExampleZone.occluded)
        #expect(r.issues == [])
        let c = try #require(r.config)
        #expect(c.sites.map(\.name) == ["fra", "iad", "sin"])
        #expect(c.pools.map { "\($0.name) \($0.type) \($0.policy.rawValue)" } ==
                ["www.example.com. A closest", "www.example.com. AAAA closest", "api.example.com. A weighted"])
        #expect(c.topology.count == 6)
    }

    @Test func theZoneFileLeavesThePoolNamesFree() throws {
        // The hand-written table in ExampleZone must follow the file: no owner www or api.
        let zone = try Files.repo("zones/example.com.zone")
        let owners = zone.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(!owners.contains("www") && !owners.contains("api"))
        for name in ["git", "mail", "status", "dev", "fra1", "_dmarc"] { #expect(owners.contains(name)) }
    }

    @Test func everyYamlExampleInTheDocsIsValid() throws {
        let doc = try Files.repo("docs/config-file.md") + (try Files.repo("docs/health.md"))
        let blocks = doc.components(separatedBy: "```yaml\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(blocks.count >= 2)
        for b in blocks {
            #expect(ExampleZone.issues(b) == [], "\(b)")
        }
    }

    @Test func theDocsFullExampleIsExamplesGslbYaml() throws {
        let doc = try Files.repo("docs/config-file.md")
        #expect(doc.contains(try Files.repo("examples/gslb.yaml")))
    }

    @Test func loadingAMissingFileIsOneIssueWithoutAPath() {
        let r = ConfigFile.load(path: "/nonexistent/gslb.yaml", zones: [], staticData: { _ in nil })
        #expect(r.issues == [ConfigIssue(path: "", message: "cannot read the file (no such file)")])
        #expect(r.issues.first?.description == "cannot read the file (no such file)")
    }
}

@Suite struct YAMLReadingTests {
    @Test func ipv6AddressesMayBeWrittenWithoutQuotesEvenInFlowMappings() throws {
        let c = try #require(ConfigFile.decode(yaml: """
            pools:
              - {name: www.example.com., type: aaaa, members: [{site: fra, address: 2001:db8::10}]}
            topology:
              - {network: 2001:db8::/32, site: fra}
            """).config)
        #expect(c.pools[0].type == "AAAA")
        #expect(c.pools[0].members[0].address == "2001:db8::10")
        #expect(c.topology[0].network == "2001:db8::/32")
    }

    @Test func aYAMLSyntaxErrorNamesItsLineAndColumn() {
        let r = ConfigFile.decode(yaml: "sites:\n  - {name: fra, region: eu\npools: []\n")
        #expect(r.issues.map(\.description) == ["line 3, column 6: did not find expected ',' or '}' (while parsing a flow mapping)"])
    }

    @Test func anchorsAndAliasesAreReadAsCopies() throws {
        let c = try #require(ConfigFile.decode(yaml: """
            sites: [{name: fra, region: eu}]
            pools:
              - name: www.example.com.
                members: &m [{site: fra, address: 192.0.2.1}]
              - name: api.example.com.
                members: *m
            """).config)
        #expect(c.pools[1].members == c.pools[0].members)
    }

    @Test func nullAndEmptyValuesMeanAbsent() throws {
        let c = try #require(ConfigFile.decode(yaml: """
            sites:
              - {name: fra, region: ~, location: null, capacity: }
            pools:
            monitors: []
            """).config)
        #expect(c == GSLBConfig(sites: [Site(name: "fra")]))
    }

    @Test func defaultsAreFilledInForOmittedKeys() throws {
        let c = try #require(ConfigFile.decode(yaml: """
            pools:
              - name: www.example.com.
                members: [{site: fra, address: 192.0.2.1}]
            monitors:
              - {name: t, type: tcp, port: 443}
            """).config)
        #expect(c.pools[0] == Pool(name: "www.example.com.", type: "A", policy: .failover, ttl: 30, answers: 1, ecs: true,
                                   fallback: .all, members: [Member(site: "fra", address: "192.0.2.1", weight: 100, priority: 1, state: .enabled)]))
        #expect(c.monitors[0] == Monitor(name: "t", type: .tcp, port: 443, intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 2))
    }

    @Test func durationsAcceptFractionsAndEveryUnit() throws {
        let c = try #require(ConfigFile.decode(yaml: """
            pools: [{name: a.example.com., rto: 1.5s, members: []}, {name: b.example.com., rto: 250ms, members: []},
                    {name: c.example.com., rto: 2m, members: []}, {name: d.example.com., rto: 1h, members: []}]
            monitors: [{name: t, type: tcp, port: 1, interval: 1.5s, timeout: 0.25s}, {name: u, type: tcp, port: 1, interval: 2m, timeout: 1h}]
            """).config)
        #expect(c.pools.map(\.rto) == [1.5, 0.25, 120, 3600])
        #expect(c.monitors.map(\.intervalMs) == [1500, 120_000])
        #expect(c.monitors.map(\.timeoutMs) == [250, 3_600_000])
    }
}
