import Foundation
import GSLBConfigFile
import GSLBCore
import Testing

/// API bodies are read by the codec of files straight from the JSON value: the same keys, defaults
/// and messages, with paths relative to the body.
@Suite struct JSONBodyTests {
    static func json(_ text: String) -> Any { try! JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) }

    static func issues<T: Decodable>(_ type: T.Type, _ text: String) -> [ConfigIssue] {
        if case .failure(let i) = ConfigFile.decode(type, json: json(text)) { return i }
        return []
    }

    @Test func aPoolBodyDecodesLikeTheSamePoolInAFile() throws {
        let body = #"{"name": "www.example.com", "policy": "weighted", "ttl": 20, "ecs": false, "rto": "30s", "fallback": "pool:backup.example.com", "members": [{"site": "fra", "address": "192.0.2.1", "weight": 60, "probe": {"port": 8080}}]}"#
        let pool = try ConfigFile.decode(Pool.self, json: Self.json(body)).get()
        let yaml = """
            pools:
              - {name: www.example.com, policy: weighted, ttl: 20, ecs: false, rto: 30s, fallback: pool:backup.example.com,
                 members: [{site: fra, address: 192.0.2.1, weight: 60, probe: {port: 8080}}]}
            """
        #expect(try ConfigFile.decode(yaml: yaml).get().pools == [pool])
        #expect(pool.name == "www.example.com." && pool.fallback == .pool("backup.example.com.") && pool.members[0].probe?.port == 8080)
    }

    @Test func problemsNameTheirPlaceInTheBody() {
        let body = #"{"name": "www.example.com", "ttl": "30", "polcy": "closest", "members": [{"site": "fra", "address": "192.0.2.1"}, {"site": "fra"}]}"#
        let issues = Self.issues(Pool.self, body)
        #expect(issues.contains { $0.path == "ttl" && $0.message == #"expected an integer, got the quoted string "30""# })
        #expect(issues.contains { $0.path == "polcy" && $0.message == #"unknown key (did you mean "policy"?)"# })
        #expect(issues.contains { $0.path == "members[1].address" && $0.message == "required" })
        #expect(issues.count == 3)
    }

    @Test func jsonNullIsAbsentAndAStringIsNeverANumber() {
        #expect((try? ConfigFile.decode(Member.self, json: Self.json(#"{"site": "fra", "address": "192.0.2.1", "monitor": null}"#)).get())?.monitor == nil)
        #expect(Self.issues(Member.self, #"{"site": "fra", "address": "192.0.2.1", "weight": "5"}"#).map(\.description)
                == [#"weight: expected an integer, got the quoted string "5""#])
        #expect(Self.issues(Site.self, #"["fra"]"#).map(\.description) == [#"expected a site (a mapping), got a list"#])
    }

    @Test func textThatMeansSomethingInYAMLIsJustTextInJSON() throws {
        let site = try ConfigFile.decode(Site.self, json: Self.json(#"{"name": "*fra", "region": "a: b # c"}"#)).get()
        #expect(site.name == "*fra" && site.region == "a: b # c")
    }
}
