import DNSWire
import GSLBCore
import SnapshotService
import Synchronization
import Testing

/// Several nodes share a store: each member's state in the snapshot is the one the live nodes agree on.
@Suite struct HealthQuorumPublisherTests {
    typealias Zones = SnapshotPublisherTests.CountingZones
    typealias Store = SnapshotPublisherTests.Store
    static let a = MemberKey(pool: "www.pub.test.", address: "192.0.2.1")

    static func state(quorum: HealthQuorum? = nil, observations: [NodeObservation] = []) -> GSLBState {
        GSLBState(config: GSLBConfig(sites: [Site(name: "fra")], pools: [Pool(name: "www.pub.test.", policy: .failover, monitor: "web", members: [
            Member(site: "fra", address: "192.0.2.1"),
            Member(site: "fra", address: "192.0.2.2", priority: 2),
        ])], monitors: [Monitor(name: "web", type: .tcp, port: 80, quorum: quorum)]), observations: observations)
    }

    static func node(_ name: String, heartbeat: Double) -> NodeRecord {
        NodeRecord(name: name, dns: [], api: nil, version: "t", generation: 1, storeToken: 1, startedAt: 0, heartbeat: heartbeat)
    }

    func real(_ p: SnapshotPublisher, _ key: MemberKey = a) -> HealthState? {
        p.box.load().pools.first?.members.first { $0.member.address == key.address }?.real
    }

    func publisher(_ store: Store, now: Double = 1000) -> SnapshotPublisher {
        let p = SnapshotPublisher(source: Zones(), repository: store, clock: { now }, nodeName: "ns1", goneAfter: 10)
        p.reload()
        p.applyHealth([MemberHealth(key: Self.a, state: .down, since: 1)], endColdStart: true)
        p.flushHealth()
        return p
    }

    @Test func aMemberOnlyThisNodeSeesDownStaysUpByMajority() {
        let store = Store(Self.state(observations: [
            NodeObservation(node: "ns2", key: Self.a, state: .up, since: 1),
            NodeObservation(node: "ns3", key: Self.a, state: .up, since: 1),
        ]))
        let p = publisher(store)
        // Alone: its own probes decide.
        #expect(real(p) == .down)
        // Three live nodes: 1 of 3 sees it down.
        p.updateRegistry([Self.node("ns1", heartbeat: 999), Self.node("ns2", heartbeat: 999), Self.node("ns3", heartbeat: 995)])
        #expect(real(p) == .up)
        let v = p.box.load().quorumVerdicts()[Self.a]
        #expect(v?.rule == .majority)
        #expect(v?.nodes.map(\.node).sorted() == ["ns1", "ns2", "ns3"])
        #expect(v?.nodes.first { $0.node == "ns1" }?.state == "down")
        let e = p.box.load().explain(name: try! DomainName("www.pub.test."), type: .a, client: ClientAddress(text: "192.0.2.9")!, ecs: nil)
        #expect(e.text.contains("quorum=majority(ns1:down,"))

        // ns3 goes silent: its verdict stops counting, 1 down of 2 is a tie, still up.
        p.updateRegistry([Self.node("ns1", heartbeat: 999), Self.node("ns2", heartbeat: 999), Self.node("ns3", heartbeat: 980)])
        #expect(real(p) == .up)
        #expect(p.box.load().gslb.quorumNodes == ["ns1", "ns2"])
        // ns2 sees it down as well: down everywhere.
        store.set(Self.state(observations: [NodeObservation(node: "ns2", key: Self.a, state: .down, since: 2)]))
        #expect(p.refreshIfChanged())
        #expect(real(p) == .down)
    }

    @Test func theMonitorsRuleWins() {
        let others = [NodeObservation(node: "ns2", key: Self.a, state: .up, since: 1)]
        let nodes = [Self.node("ns1", heartbeat: 999), Self.node("ns2", heartbeat: 999)]
        for (rule, expected) in [(HealthQuorum.local, HealthState.down), (.any, .down), (.all, .up), (.majority, .up)] {
            let p = publisher(Store(Self.state(quorum: rule, observations: others)))
            p.updateRegistry(nodes)
            #expect(real(p) == expected, "\(rule)")
        }
    }

    @Test func aStoppedNodeStopsCountingAtOnce() {
        let p = publisher(Store(Self.state(observations: [
            NodeObservation(node: "ns2", key: Self.a, state: .up, since: 1),
            NodeObservation(node: "ns3", key: Self.a, state: .up, since: 1),
        ])))
        p.updateRegistry([Self.node("ns1", heartbeat: 999), Self.node("ns2", heartbeat: 999), Self.node("ns3", heartbeat: 999)])
        #expect(real(p) == .up)
        var ns2 = Self.node("ns2", heartbeat: 999), ns3 = Self.node("ns3", heartbeat: 999)
        ns2.stoppedAt = 999
        ns3.stoppedAt = 999
        p.updateRegistry([Self.node("ns1", heartbeat: 999), ns2, ns3])
        #expect(real(p) == .down)
        #expect(p.box.load().quorumVerdicts().isEmpty)
    }
}
