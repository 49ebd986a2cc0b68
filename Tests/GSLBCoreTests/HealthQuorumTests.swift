import GSLBCore
import Testing

@Suite struct HealthQuorumTests {
    @Test(arguments: [
        // rule, own, others, agreed
        (HealthQuorum.local, HealthState.down, [HealthState.up, .up], HealthState.down),
        (.local, .up, [.down, .down], .up),
        (.majority, .down, [.up, .up], .up),          // one node cut off from a backend fails it for nobody
        (.majority, .down, [.down, .up], .down),
        (.majority, .up, [.down, .down], .down),
        (.majority, .down, [.up], .up),               // a tie stays up
        (.majority, .down, [.unknown, .unknown], .down), // unknown verdicts do not count
        (.majority, .unknown, [.unknown], .unknown),
        (.any, .up, [.up, .down], .down),
        (.any, .up, [.up, .up], .up),
        (.all, .down, [.down, .up], .up),
        (.all, .down, [.down, .down], .down),
        (.all, .unknown, [.down], .down),
    ])
    func rules(rule: HealthQuorum, own: HealthState, others: [HealthState], agreed: HealthState) {
        #expect(rule.decide(own: own, others: others) == agreed)
    }

    @Test func theDefaultIsMajorityWithSeveralLiveNodesElseLocal() {
        #expect(HealthQuorum.default(liveNodes: 0) == .local)
        #expect(HealthQuorum.default(liveNodes: 1) == .local)
        #expect(HealthQuorum.default(liveNodes: 2) == .majority)
        #expect(HealthQuorum.default(liveNodes: 3) == .majority)
    }

    @Test func aNodeIsLiveUntilGoneAfterOrStopped() {
        var n = NodeRecord(name: "ns1", dns: [], api: nil, version: "x", generation: 1, storeToken: 1, startedAt: 0, heartbeat: 100)
        #expect(n.isLive(now: 110, goneAfter: 10))
        #expect(!n.isLive(now: 110.5, goneAfter: 10))
        n.stoppedAt = 100
        #expect(!n.isLive(now: 100, goneAfter: 10))
    }
}
