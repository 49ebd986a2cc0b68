import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
/// The node registry and the nodes' own health verdicts, on both backends.
@Suite struct NodeRegistryTests {
    static func node(_ name: String, heartbeat: Double, token: Int64 = 1) -> NodeRecord {
        NodeRecord(name: name, dns: ["udp:127.0.0.1:53", "tcp:127.0.0.1:53"], api: "http://127.0.0.1:9053", version: "t",
                   generation: 7, storeToken: token, startedAt: 1, heartbeat: heartbeat)
    }

    @Test(arguments: Backend.allCases) func heartbeatsRegisterAndRefreshNodesWithoutAnnouncingAChange(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        try store.heartbeat(Self.node("ns2", heartbeat: 100))
        try store.heartbeat(Self.node("ns1", heartbeat: 100))
        let token = try store.changeToken()
        try store.heartbeat(Self.node("ns1", heartbeat: 102, token: 5))
        if backend == .postgres {
            // No snapshot depends on a heartbeat: the other nodes are not told to reload.
            #expect(try store.changeToken() == token)
        }
        let nodes = try store.listNodes()
        #expect(nodes.map(\.name) == ["ns1", "ns2"])
        #expect(nodes[0] == Self.node("ns1", heartbeat: 102, token: 5))
        #expect(nodes[0].dns == ["udp:127.0.0.1:53", "tcp:127.0.0.1:53"])

        var stopped = Self.node("ns2", heartbeat: 103)
        stopped.stoppedAt = 103
        try store.heartbeat(stopped)
        #expect(try store.listNodes().last?.stoppedAt == 103)
        #expect(try store.forgetNode("ns2"))
        #expect(try !store.forgetNode("ns2"))
        #expect(try store.listNodes().map(\.name) == ["ns1"])
    }

    @Test(arguments: Backend.allCases) func theRegistryIsBoundedAndForgetsNodesSilentForAWeek(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        for i in 0..<Store.maxNodes { try store.heartbeat(Self.node("n\(i)", heartbeat: 1000)) }
        #expect(throws: StoreError.self) { try store.heartbeat(Self.node("one-more", heartbeat: 1000)) }
        try store.heartbeat(Self.node("n0", heartbeat: 1001))     // a known node still heartbeats
        // A week later, one heartbeat drops every node silent since.
        try store.heartbeat(Self.node("n1", heartbeat: 1002 + Store.forgetNodesAfter))
        #expect(try store.listNodes().map(\.name) == ["n1"])
    }

    @Test(arguments: Backend.allCases) func eachNodesVerdictsAreKeptApartAndAnnounced(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        try store.replaceConfig(fullConfig(), principal: "ci", source: "apply", prune: false)
        let key = MemberKey(pool: "www.example.com.", address: "192.0.2.10")
        try store.heartbeat(Self.node("ns1", heartbeat: 100))
        try store.heartbeat(Self.node("ns2", heartbeat: 100))
        try store.recordHealth(contentsOf: [MemberHealth(key: key, state: .up, since: 10)], node: "ns1")
        let token = try store.changeToken()
        try store.recordHealth(contentsOf: [MemberHealth(key: key, state: .down, since: 11)], node: "ns2")
        #expect(try store.changeToken() != token)
        #expect(try store.loadState().observations == [
            NodeObservation(node: "ns1", key: key, state: .up, since: 10),
            NodeObservation(node: "ns2", key: key, state: .down, since: 11),
        ])
        // The member goes: its verdicts go at the next heartbeat of each node; a forgotten node's go with it.
        var config = fullConfig()
        config.pools = config.pools.filter { $0.name != "www.example.com." }
        try store.replaceConfig(config, principal: "ci", source: "apply", prune: true)
        try store.heartbeat(Self.node("ns1", heartbeat: 101))
        #expect(try store.loadState().observations.map(\.node) == ["ns2"])
        try store.forgetNode("ns2")
        #expect(try store.loadState().observations.isEmpty)
    }

    @Test(arguments: Backend.allCases) func aMonitorsQuorumIsStored(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        var config = fullConfig()
        config.monitors[0].quorum = .all
        try store.replaceConfig(config, principal: "ci", source: "apply", prune: false)
        #expect(try store.exportConfig().monitors[0].quorum == .all)
        config.monitors[0].quorum = nil
        try store.replaceConfig(config, principal: "ci", source: "apply", prune: false)
        #expect(try store.exportConfig().monitors[0].quorum == nil)
    }
}
}
