import GSLBCore
import Testing

@Suite struct ConfigChangeTests {
    static func update(_ before: String, _ after: String, object: String = "pool:www.example.com./A") -> ConfigChange {
        ConfigChange.from([AuditEntry(time: 0, principal: "-", source: "-", action: "update", object: object, before: before, after: after)])[0]
    }

    @Test func aMemberWeightChangeShowsAsThatMembersKey() {
        let c = Self.update(#"{"members":[{"address":"192.0.2.10","site":"fra","weight":100}],"name":"www.example.com.","ttl":30}"#,
                            #"{"members":[{"address":"192.0.2.10","site":"fra","weight":75}],"name":"www.example.com.","ttl":30}"#)
        #expect(c.text == "update pool:www.example.com./A: members[192.0.2.10].weight 100 → 75")
    }

    @Test func anAddedOrRemovedMemberShowsWholeAndTopLevelKeysShowOldAndNew() {
        let c = Self.update(#"{"members":[{"address":"192.0.2.10","site":"fra"}],"ttl":30}"#,
                            #"{"members":[{"address":"192.0.2.10","site":"fra"},{"address":"192.0.2.11","site":"iad"}],"ttl":60}"#)
        // (keys in the order of the old object, then the new ones)
        #expect(c.text == #"update pool:www.example.com./A: ttl 30 → 60, members[192.0.2.11] (none) → {"address":"192.0.2.11","site":"iad"}"#)
        let site = Self.update(#"{"capacity":1000,"name":"fra","region":"eu"}"#, #"{"capacity":1200,"name":"fra"}"#, object: "site:fra")
        #expect(site.text == "update site:fra: capacity 1000 → 1200, region \"eu\" → (none)")
    }

    @Test func deletionsThatStopAnswersComeFirst() {
        let rows = [AuditEntry(time: 0, principal: "-", source: "-", action: "update", object: "site:fra", before: "{}", after: "{}"),
                    AuditEntry(time: 0, principal: "-", source: "-", action: "delete", object: "site:sin", before: "{}"),
                    AuditEntry(time: 0, principal: "-", source: "-", action: "delete", object: "pool:api.example.com./A", before: "{}")]
        let changes = ConfigChange.from(rows)
        #expect(changes.map(\.object) == ["pool:api.example.com./A", "site:fra", "site:sin"])
        #expect(changes[0].text == "delete pool:api.example.com./A (stops answering)")
    }
}
