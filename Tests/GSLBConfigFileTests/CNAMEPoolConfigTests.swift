import DNSWire
import Foundation
import GSLBConfigFile
import GSLBCore
import Testing

/// CNAME pools in files and API bodies: members are `target` names, every mistake named by its field.
@Suite struct CNAMEPoolConfigTests {
    @Test func aCNAMEPoolReadsTargetsAndWritesThemBack() throws {
        let yaml = """
        sites:
          - {name: fra}
          - {name: ams}
        pools:
          - name: cdn.example.com
            type: cname
            policy: failover
            members:
              - {site: fra, target: fra1.example.com.}
              - {site: ams, target: edge.cdn-provider.net, probe: {address: 192.0.2.80}}
        """
        guard case .success(let c) = ExampleZone.check(yaml) else { Issue.record("\(ExampleZone.issues(yaml))"); return }
        let p = try #require(c.pools.first)
        #expect(p.type == "CNAME" && p.recordType == .cname && p.isCNAME)
        #expect(p.members.map(\.address) == ["fra1.example.com.", "edge.cdn-provider.net."])
        #expect(p.members.allSatisfy { $0.isTarget })
        let written = ConfigFile.encode(c)
        #expect(written.contains("target: fra1.example.com.") && !written.contains("address: fra1"))
        guard case .success(let again) = ExampleZone.check(written) else { Issue.record("\(ExampleZone.issues(written))"); return }
        #expect(again == c)
    }

    @Test func everyMistakeOfACNAMEPoolIsNamedByItsField() {
        let yaml = """
        sites:
          - {name: fra}
        pools:
          - name: cdn.example.com.
            type: CNAME
            answers: 2
            members:
              - {site: fra, target: "bad name.example.net."}
              - {site: fra, address: 192.0.2.1}
              - {site: fra, target: fra1.example.com., address: 192.0.2.2}
              - {site: fra, target: ok.example.net.}
              - {site: fra, target: OK.example.net}
              - {site: fra, target: "\(String(repeating: "a", count: 64)).example.net."}
              - {site: fra, target: 192.0.2.9}
          - name: www.example.com.
            members:
              - {site: fra, target: fra1.example.com.}
          - name: mail.example.com.
            type: CNAME
            members:
              - {site: fra, target: fra1.example.com.}
          - name: git.example.com.
            type: CNAME
            members:
              - {site: fra, target: fra1.example.com.}
          - name: www.example.com.
            type: CNAME
            members:
              - {site: fra, target: fra1.example.com.}
        """
        #expect(ExampleZone.issues(yaml).map(\.description) == [
            "pools[0].members[2].address: a member has an address or a target, not both (a target's probe address goes in probe.address)",
            "pools[0].answers: a CNAME pool answers one target: must be 1",
            "pools[0].members[0].target: \"bad name.example.net.\" is not a valid DNS name: label \"bad name\" may contain only letters, digits, \"-\" and \"_\"",
            "pools[0].members[1].address: a CNAME pool's members are target names, not addresses (an address to probe goes in probe.address)",
            "pools[0].members[4].target: duplicate target OK.example.net. in this pool (also members[3])",
            "pools[0].members[5].target: \"\(String(repeating: "a", count: 64)).example.net.\" is not a valid DNS name: label longer than 63 octets",
            "pools[0].members[6].target: a CNAME pool's members are target names, not addresses (an address to probe goes in probe.address)",
            "pools[1].members[0].target: only CNAME pools have target names; a A pool's members have an address",
            "pools[2].name: conflicts with static data: mail.example.com. has a CNAME in the zone",
            "pools[3].name: conflicts with static data: a CNAME pool's name can have no other data, and git.example.com. has A, AAAA records in the zone",
            "pools[4].name: a CNAME pool's name can have no other pool: www.example.com. also has a pool of type A",
        ])
    }

    @Test func anAPIBodyNamesTheFieldWithoutThePoolPrefix() {
        let body = try! JSONSerialization.jsonObject(with: Data(#"{"site": "fra", "target": "a.example.net.", "address": "192.0.2.1"}"#.utf8))
        guard case .failure(let issues) = ConfigFile.decode(Member.self, json: body) else { Issue.record("decoded"); return }
        #expect(issues.map(\.description) == [
            "address: a member has an address or a target, not both (a target's probe address goes in probe.address)"])
    }
}
