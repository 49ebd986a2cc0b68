import GSLBCore

// Last known real state of each member, and the history of its transitions.
// Health is keyed by pool *name* and address (`MemberKey`): an A and an AAAA pool of the
// same name cannot share an address, so the type is not needed to tell members apart.

extension Store {
    /// Records a member's real state: writes nothing when the stored state is the same;
    /// otherwise stores it (with its `since`) and appends a `health_history` row.
    public func recordHealth(_ h: MemberHealth) throws {
        try recordHealth(contentsOf: [h])
    }

    /// `recordHealth` for many members in one transaction (one commit for a probe round). With `node`,
    /// also that node's own verdicts (`health_observations`), which the nodes sharing the store count for quorum.
    public func recordHealth(contentsOf states: [MemberHealth], node: String? = nil) throws {
        guard !states.isEmpty else { return }
        try write("recording health") { db in
            if let node { try Self.recordObservations(db, node: node, states) }
            for h in states {
                let current = try db.fetchOne("SELECT state FROM member_health WHERE pool_name = ? AND address = ?",
                                              [h.key.pool, h.key.address]).map { $0["state"] as String }
                guard current != h.state.rawValue else { continue }
                try db.upsert("member_health", ["pool_name", "address", "state", "since"], keys: 2,
                              [h.key.pool, h.key.address, h.state.rawValue, h.since])
                try db.execute("INSERT INTO health_history (pool_name, address, state, time) VALUES (?, ?, ?, ?)", [h.key.pool, h.key.address, h.state.rawValue, h.since])
            }
        }
    }

    /// A member's transitions, oldest first (`since` = time of the transition), at most the
    /// `limit` most recent ones.
    public func healthHistory(_ key: MemberKey, limit: Int = 100) throws -> [MemberHealth] {
        try read("reading health history") { db in
            try db.fetch("""
                SELECT * FROM (SELECT id, state, time FROM health_history WHERE pool_name = ? AND address = ?
                               ORDER BY time DESC, id DESC LIMIT ?) AS recent
                ORDER BY time, id
                """, [key.pool, key.address, limit]).map { row in
                MemberHealth(key: key, state: try decodeEnum(row["state"], "health_history.state"), since: row["time"])
            }
        }
    }

    /// Deletes history rows older than `time`; returns how many. Oldest first, at most `batch` rows per
    /// transaction, so that a large backlog never holds the write lock long enough to make another writer (a
    /// probe round's commit, an API write) wait out its busy or lock timeout. Not announced: no snapshot reads the
    /// history, and several nodes pruning the same table by time at once is harmless.
    @discardableResult
    public func pruneHealthHistory(before time: Double, batch: Int = 10_000) throws -> Int {
        precondition(batch > 0)
        var total = 0
        while true {
            let n = try write("pruning health history", announce: false) { db in
                try db.execute("""
                    DELETE FROM health_history WHERE id IN
                        (SELECT id FROM health_history WHERE time < ? ORDER BY time LIMIT ?)
                    """, [time, batch])
            }
            total += n
            if n < batch { return total }
        }
    }

    static func readHealth(_ db: any SQLTransaction) throws -> [MemberHealth] {
        try db.fetch("SELECT * FROM member_health ORDER BY pool_name, address").map { row in
            MemberHealth(key: MemberKey(pool: row["pool_name"], address: row["address"]),
                         state: try decodeEnum(row["state"], "member_health.state"), since: row["since"])
        }
    }
}
