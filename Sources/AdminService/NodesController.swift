import GSLBCore
import SnapshotService

/// `/v1/nodes`: the node registry (every node sharing the store) as this node last read it (every
/// `--node-heartbeat`), with liveness and how far each node is behind the newest change.
struct NodesController: AdminController {
    let repo: any ConfigRepository
    let publisher: SnapshotPublisher
    let clock: @Sendable () -> Double

    func addRoutes(to routes: AdminRoutes) {
        routes.on(.get, "/v1/nodes", .read) { _ in try listNodes() }
    }

    func listNodes() throws -> AdminAPI.Reply {
        let now = clock()
        let newest = try repo.changeToken()
        // Change tokens are comparable across nodes only when the store counts changes itself (PostgreSQL).
        let comparable = repo.notifiesChanges
        let nodes = publisher.registry.map { n in
            NodeList.Node(name: n.name, dns: n.dns, api: n.api, version: n.version, generation: n.generation,
                          state: n.stoppedAt != nil ? "stopped" : n.isLive(now: now, goneAfter: publisher.goneAfter) ? "live" : "gone",
                          heartbeat: RFC3339.format(n.heartbeat), heartbeatAgeSeconds: (max(0, now - n.heartbeat) * 10).rounded() / 10,
                          startedAt: RFC3339.format(n.startedAt),
                          changesBehind: comparable ? max(0, newest - n.storeToken) : nil,
                          this: n.name == publisher.nodeName)
        }
        return .ok(NodeList(nodes: nodes, goneAfterSeconds: publisher.goneAfter))
    }
}

/// `GET /v1/nodes`.
struct NodeList: Encodable {
    struct Node: Encodable {
        var name: String
        var dns: [String]
        var api: String?
        var version: String
        var generation: UInt64
        /// `live`, `gone` (no heartbeat for `gone_after_seconds`) or `stopped` (shut down cleanly).
        var state: String
        var heartbeat: String
        var heartbeatAgeSeconds: Double
        var startedAt: String
        /// Store changes committed since the state this node serves (PostgreSQL; null on SQLite).
        var changesBehind: Int64?
        /// The node that answered this request.
        var this: Bool

        enum CodingKeys: String, CodingKey {
            case name, dns, api, version, generation, state, heartbeat, heartbeatAgeSeconds = "heartbeat_age_seconds"
            case startedAt = "started_at", changesBehind = "changes_behind", this
        }
    }
    var nodes: [Node]
    var goneAfterSeconds: Double
    enum CodingKeys: String, CodingKey { case nodes, goneAfterSeconds = "gone_after_seconds" }
}
