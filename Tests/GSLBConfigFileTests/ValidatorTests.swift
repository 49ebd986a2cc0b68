import DNSWire
import GSLBConfigFile
import GSLBCore
import Testing

@Suite struct ValidatorTests {
    static let site = Site(name: "fra", region: "eu")

    func pool(_ name: String, _ type: String = "A", _ address: String = "192.0.2.10") -> Pool {
        Pool(name: name, type: type, members: [Member(site: "fra", address: address)])
    }

    @Test func aFileWithManyProblemsReportsEveryOne() {
        let yaml = """
        sites:
          - {name: fra, region: eu, location: {lat: 95, lon: 8}}
          - {name: fra, region: us}
        pools:
          - name: www.example.org
            polcy: closest
            ttl: abc
            members:
              - {site: fra, address: 10.0.0.300, weight: -3}
              - {site: nowhere, address: 192.0.2.11}
          - name: git.example.com.
            type: AAAA
            members: []
        monitors:
          - {name: web, type: http, port: 80, interval: 1s, timeout: 2s}
        topology:
          - {network: 203.0.113.1/24, region: eu}
          - {network: 10.0.0.0/8, region: moon}
        """
        let issues = ExampleZone.issues(yaml)
        #expect(issues.map(\.description) == [
            "pools[0].polcy: unknown key (did you mean \"policy\"?)",
            "pools[0].ttl: expected an integer, got \"abc\"",
            "sites[0].location.lat: 95 must be between -90 and 90",
            "sites[1].name: duplicate site \"fra\" (also sites[0])",
            "pools[0].name: www.example.org. is not inside a served zone (served: example.com.)",
            "pools[0].members[0].address: \"10.0.0.300\" is not an IPv4 address",
            "pools[0].members[0].weight: -3 must be ≥ 0",
            "pools[0].members[1].site: unknown site \"nowhere\"",
            "pools[1].name: conflicts with static data: git.example.com. has AAAA records in the zone",
            "pools[1].members: pool has no members",
            "monitors[0].timeout: 2s must be shorter than the interval (1s)",
            "topology[0].network: \"203.0.113.1/24\" has host bits set (the network is 203.0.113.0/24)",
            "topology[1].region: no site has region \"moon\"",
        ])
    }

    @Test func aPoolAtTheApexIsAllowedWhenTheApexHasNoRecordOfItsType() {
        let apex = try! DomainName("example.net.")
        let c = GSLBConfig(sites: [Self.site], pools: [pool("example.net."), pool("example.net.", "AAAA", "2001:db8::1")])
        let issues = ConfigValidator.validate(c, zones: [apex], staticData: { $0 == apex ? [.soa, .ns, .mx, .aaaa] : nil })
        #expect(issues.map(\.description) == ["pools[1].name: conflicts with static data: example.net. has AAAA records in the zone"])
    }

    @Test func staticDataOfOtherTypesDoesNotConflict() {
        let c = GSLBConfig(sites: [Self.site], pools: [pool("status.example.com.", "AAAA", "2001:db8::20"), pool("xmpp.example.com.", "AAAA", "2001:db8::70")])
        #expect(ExampleZone.validate(c).map(\.description) == [
            "pools[1].name: conflicts with static data: xmpp.example.com. has AAAA records in the zone",
        ])
    }

    @Test func aPoolBelowADnameIsRejectedThroughTheOccludedCheck() {
        let zone = try! DomainName("example.net.")
        let dname = try! DomainName("old.example.net.")
        let c = GSLBConfig(sites: [Self.site], pools: [pool("www.old.example.net.")])
        let issues = ConfigValidator.validate(c, zones: [zone], staticData: { _ in nil },
                                              occluded: { $0 != dname && $0.isSubdomain(of: dname) })
        #expect(issues.map(\.path) == ["pools[0].name"])
        #expect(issues.first?.message.contains("delegation or DNAME") == true)
    }

    @Test func aPoolNameWithoutTheTrailingDotIsRejectedByTheValidatorButCompletedByTheFile() throws {
        let c = GSLBConfig(sites: [Self.site], pools: [pool("www.example.com")])
        #expect(ExampleZone.validate(c).map(\.description) == ["pools[0].name: \"www.example.com\" must be an absolute name ending with a dot"])
        let decoded = try #require(ConfigFile.decode(yaml: """
            pools:
              - {name: www.example.com, fallback: "pool:backup.example.com", members: []}
            """).config)
        #expect(decoded.pools[0].name == "www.example.com.")
        #expect(decoded.pools[0].fallback == .pool("backup.example.com."))
    }

    @Test func aFallbackChainWithoutACycleIsValid() {
        var a = pool("www.example.com."), b = pool("api.example.com.", "A", "192.0.2.20"), d = pool("web.example.com.", "A", "192.0.2.30")
        a.fallback = .pool("api.example.com."); b.fallback = .pool("WEB.example.com."); d.fallback = .none
        #expect(ExampleZone.validate(GSLBConfig(sites: [Self.site], pools: [a, b, d])) == [])
    }

    @Test func membersOfOnePoolMayShareAnAddressWithAnotherPool() {
        let c = GSLBConfig(sites: [Self.site], pools: [pool("www.example.com."), pool("api.example.com.")])
        #expect(ExampleZone.validate(c) == [])
    }

    @Test func weightZeroAndPriorityZeroAreAllowed() {
        var p = pool("www.example.com.")
        p.members[0].weight = 0; p.members[0].priority = 0
        #expect(ExampleZone.validate(GSLBConfig(sites: [Self.site], pools: [p])) == [])
    }

    @Test func monitorOptionsOfTheirOwnTypeAreAccepted() {
        let m = [
            Monitor(name: "t", type: .tcp, port: 25, options: ["send": "EHLO x\\r\\n", "expect": "250"]),
            Monitor(name: "h", type: .http, port: 80, options: ["method": "HEAD", "path": "/", "host": "www.example.com",
                                                               "expect_status": "200", "load_header": "X-Load", "load_json": "load"]),
            Monitor(name: "s", type: .https, port: 443, options: ["sni": "www.example.com", "verify_tls": "false"]),
            Monitor(name: "d", type: .dns, port: 53, options: ["query": "health.example.net.", "expect_address": "192.0.2.1"]),
            Monitor(name: "c", type: .command, options: ["command": "/usr/local/bin/check"]),
        ]
        #expect(ExampleZone.validate(GSLBConfig(monitors: m)) == [])
    }

    @Test func optionsWithUnknownKeysAreReportedByTheValidator() {
        let m = Monitor(name: "t", type: .tcp, port: 25, options: ["color": "blue"])
        #expect(ExampleZone.validate(GSLBConfig(monitors: [m])).map(\.description) == ["monitors[0].color: unknown monitor option"])
    }

    @Test func issueDescriptionIsPathColonMessage() {
        #expect(ConfigIssue(path: "pools[1].members[0].address", message: "\"10.0.0.300\" is not an IPv4 address").description
                == "pools[1].members[0].address: \"10.0.0.300\" is not an IPv4 address")
    }

    @Test func networksParseWithTheirPrefix() throws {
        #expect(try ConfigValidator.parseNetwork("0.0.0.0/0").get().description == "0.0.0.0/0")
        #expect(try ConfigValidator.parseNetwork("2001:db8:1::/48").get().description == "2001:db8:1::/48")
        #expect(try ConfigValidator.parseNetwork("192.0.2.128/25").get().prefix == 25)
        #expect((try? ConfigValidator.parseNetwork("192.0.2.129/25").get()) == nil)
    }
}
