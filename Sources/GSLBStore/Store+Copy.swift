import GSLBCore

// `cairn store copy FROM TO`: a whole store from one backend to another (SQLite → PostgreSQL
// when one node grows into several, and back), row for row, ids and versions kept.

extension Store {
    /// Copies every row of every table of this store into `destination`, which must be empty
    /// (freshly migrated: no object, override, token, drill, health or audit row), in one write
    /// transaction of the destination over one read snapshot of this store: the copy has the
    /// same config, versions, overrides (same ids), tokens (hashes), TSIG keys, drills, health,
    /// history and audit log. Returns the number of rows copied per table.
    @discardableResult
    public func copy(to destination: Store) throws -> [(table: String, rows: Int)] {
        let tables = try read("reading \(location) for the copy") { db in
            try Schema.tables.map { table in (table, try db.fetch("SELECT * FROM \(table)")) }
        }
        return try destination.write("copying into \(destination.location)") { db in
            for table in Schema.tables where table != "collection_versions" {
                let count: Int64 = try db.fetch("SELECT count(*) FROM \(table)")[0][0]
                if count > 0 {
                    throw StoreError(.invalid, "\(destination.location) is not empty (\(table) has \(count) rows): "
                                     + "copy into a new store")
                }
            }
            try db.execute("DELETE FROM collection_versions")
            var copied: [(table: String, rows: Int)] = []
            for (table, rows) in tables {
                for row in rows {
                    let columns = row.columns.joined(separator: ", ")
                    try db.execute("INSERT INTO \(table) (\(columns)) VALUES (\(SQLDialect.questionMarks(row.columns.count)))",
                                   values: row.values)
                }
                if db.dialect == .postgres && rows.first?.columns.contains("id") == true {
                    // Rows inserted with explicit ids: PostgreSQL's identity column goes on after the largest id
                    // (SQLite's AUTOINCREMENT does so by itself).
                    _ = try db.fetch("SELECT setval(pg_get_serial_sequence('\(table)', 'id'), (SELECT max(id) FROM \(table)))")
                }
                copied.append((table, rows.count))
            }
            return copied
        }
    }
}
