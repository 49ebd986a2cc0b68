@testable import GSLBCore
@testable import DNSService
import Testing

/// The answer counters' totals (`cairn_member_answers_total`, `cairn_pool_answers_total`, drills' real clients):
/// the workers add to an array per layout; what is read is by labels, summed over every layout since the start.
@Suite struct QueryCountersTests {
    static func layout(_ addresses: [String]) -> TallyLayout {
        TallyLayout(config: GSLBConfig(sites: [Site(name: "fra")], pools: [
            Pool(name: "www.gslb.test.", members: addresses.map { Member(site: "fra", address: $0) })]))
    }

    @Test func aMembersTotalGoesOnAcrossLayoutsAndOnlyTheLatestAreKeptAsArrays() {
        let (one, two, three) = (Self.layout(["192.0.2.1"]), Self.layout(["192.0.2.1", "192.0.2.2"]),
                                 Self.layout(["192.0.2.2", "192.0.2.1"]))
        var t = QueryCounters.Totals()
        t.addAnswers(one, 0, 2)      // 192.0.2.1
        t.addAnswers(one, 1, 1)      // the fallback slot
        t.addAnswers(two, 0, 3)      // 192.0.2.1
        t.addAnswers(two, 1, 5)      // 192.0.2.2
        t.addAnswers(one, 0, 1)      // a worker still on the first layout
        t.addAnswers(three, 1, 4)    // 192.0.2.1, now second
        t.addAnswers(three, 0, 6)    // 192.0.2.2
        t.addAnswers(two, 0, 7)      // 192.0.2.1, back under the second layout after the first was folded
        #expect(t.byLayout.count == QueryCounters.Totals.layoutsKept)
        let byAddress = Dictionary(t.answers.map { ($0.key.address, $0.value) }, uniquingKeysWith: +)
        #expect(byAddress == ["192.0.2.1": 17, "192.0.2.2": 11, "": 1])
        #expect(t.answers.keys.allSatisfy { $0.pool == "www.gslb.test." && $0.type == "A" })
    }
}
