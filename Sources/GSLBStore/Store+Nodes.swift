import GSLBCore

// The node registry (`cairn nodes`, `GET /v1/nodes`) and each node's own health verdicts, which the
// nodes sharing a store count for health quorum (docs/multi-node.md).

extension Store {
    /// At most this many nodes in the registry: a heartbeat from one more is refused.
    public static let maxNodes = 64
    /// A node that has not heartbeated for this long leaves the registry, with its observations.
    public static let forgetNodesAfter: Double = 7 * 86_400

    /// Registers `node` or refreshes its row (its heartbeat), and drops what no longer counts: nodes
    /// silent for `forgetNodesAfter`, and this node's observations of members that no longer exist.
    /// Not announced to other nodes (a heartbeat changes no snapshot): they read the registry themselves.
    public func heartbeat(_ node: NodeRecord) throws {
        try write("recording the heartbeat of node \(node.name)", announce: false) { db in
            try db.execute("DELETE FROM nodes WHERE heartbeat < ?", [node.heartbeat - Self.forgetNodesAfter])
            try db.execute("DELETE FROM health_observations WHERE node NOT IN (SELECT name FROM nodes)")
            try db.execute("""
                DELETE FROM health_observations WHERE node = ?
                AND NOT EXISTS (SELECT 1 FROM members m WHERE m.pool_name = health_observations.pool_name
                                AND m.address = health_observations.address)
                """, [node.name])
            let known: Int64 = try db.fetch("SELECT count(*) FROM nodes WHERE name <> ?", [node.name])[0][0]
            guard known < Int64(Self.maxNodes) else {
                throw StoreError(.invalid, "the registry already has \(known) nodes (at most \(Self.maxNodes)): node \(node.name) not registered")
            }
            try db.upsert("nodes", ["name", "dns", "api", "version", "generation", "store_token", "started_at", "heartbeat", "stopped_at"],
                          keys: 1, [node.name, node.dns.joined(separator: " "), node.api, node.version,
                                    Int64(truncatingIfNeeded: node.generation), node.storeToken, node.startedAt, node.heartbeat, node.stoppedAt])
        }
    }

    /// The registry, by name.
    public func listNodes() throws -> [NodeRecord] {
        try read("reading the node registry") { db in
            try db.fetch("SELECT * FROM nodes ORDER BY name").map { row in
                let dns: String = row["dns"]
                let generation: Int64 = row["generation"]
                return NodeRecord(name: row["name"], dns: dns.split(separator: " ").map(String.init), api: row["api"],
                                  version: row["version"], generation: UInt64(truncatingIfNeeded: generation),
                                  storeToken: row["store_token"], startedAt: row["started_at"], heartbeat: row["heartbeat"],
                                  stoppedAt: row["stopped_at"])
            }
        }
    }

    /// Removes a node from the registry with its observations; false when there was none. No command calls it
    /// (a silent node is forgotten after `forgetNodesAfter`): the tests use it to stage a node leaving.
    @discardableResult
    public func forgetNode(_ name: String) throws -> Bool {
        try write("forgetting node \(name)") { db in
            _ = try db.execute("DELETE FROM health_observations WHERE node = ?", [name])
            return try db.execute("DELETE FROM nodes WHERE name = ?", [name]) > 0
        }
    }

    /// Stores `node`'s own verdicts on these members where they changed (announced: the other nodes
    /// count them at once).
    static func recordObservations(_ db: any SQLTransaction, node: String, _ states: [MemberHealth]) throws {
        for h in states {
            let current = try db.fetchOne("SELECT state FROM health_observations WHERE node = ? AND pool_name = ? AND address = ?",
                                          [node, h.key.pool, h.key.address]).map { $0["state"] as String }
            guard current != h.state.rawValue else { continue }
            try db.upsert("health_observations", ["node", "pool_name", "address", "state", "since"], keys: 3,
                          [node, h.key.pool, h.key.address, h.state.rawValue, h.since])
        }
    }

    static func readObservations(_ db: any SQLTransaction) throws -> [NodeObservation] {
        try db.fetch("SELECT * FROM health_observations ORDER BY node, pool_name, address").map { row in
            NodeObservation(node: row["node"], key: MemberKey(pool: row["pool_name"], address: row["address"]),
                            state: try decodeEnum(row["state"], "health_observations.state"), since: row["since"])
        }
    }
}
