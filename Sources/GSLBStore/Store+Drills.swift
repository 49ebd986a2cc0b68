import Foundation
import GSLBCore

// Drill reports: one row per drill, the whole report as JSON; saved as the drill goes so that
// a restarted Cairn finds a drill it must still end.

extension Store {
    /// Inserts or replaces a drill's report, with `audit` rows in the same transaction.
    public func saveDrill(_ report: DrillReport, audit: [AuditEntry] = []) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self)
        let target = String(decoding: try encoder.encode(report.target), as: UTF8.self)
        try write("saving a drill") { db in
            try db.upsert("drills", ["id", "target_json", "mode", "status", "started_at", "ended_at", "report_json"], keys: 1,
                          [report.id, target, report.mode, report.status.rawValue,
                           report.startedAt ?? report.scheduledAt ?? report.createdAt, report.endedAt, json])
            if !audit.isEmpty { _ = try Self.insertAudit(db, audit, node: node) }
        }
    }

    public func drill(id: String) throws -> DrillReport? {
        try read("reading a drill") { db in
            guard let text = try db.fetchOne("SELECT report_json FROM drills WHERE id = ?", [id]).map({ $0["report_json"] as String }) else {
                return nil
            }
            return try Self.decodeDrill(text)
        }
    }

    /// Newest first.
    public func listDrills(limit: Int = 100) throws -> [DrillReport] {
        try read("reading drills") { db in
            try db.fetch("SELECT report_json FROM drills ORDER BY started_at DESC NULLS LAST, id DESC LIMIT ?", [limit])
                .map { try Self.decodeDrill($0[0]) }
        }
    }

    /// Drills not ended yet (scheduled, running or restoring), oldest first: what the runner
    /// checks every half second, without decoding the whole history.
    public func unfinishedDrills() throws -> [DrillReport] {
        try read("reading drills") { db in
            let statuses = DrillReport.unfinished.map(\.rawValue)
            return try db.fetch("""
                SELECT report_json FROM drills WHERE status IN (\(SQLDialect.questionMarks(statuses.count)))
                ORDER BY started_at NULLS FIRST, id
                """, statuses).map { try Self.decodeDrill($0[0]) }
        }
    }

    static func decodeDrill(_ text: String) throws -> DrillReport {
        do {
            return try JSONDecoder().decode(DrillReport.self, from: Data(text.utf8))
        } catch {
            throw StoreError(.database, "a stored drill report cannot be read: \(error)")
        }
    }

    /// `DrillRepository.acquireLease`: one statement, so two nodes racing for a free lease get one holder.
    /// Not announced (no snapshot depends on it).
    public func acquireLease(_ name: String, holder: String, now: Double, ttl: Double) throws -> String {
        try write("taking the lease \(name)", announce: false) { db in
            try db.execute("""
                INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE leases.holder = excluded.holder OR leases.expires_at < ?
                """, [name, holder, now + ttl, now])
            return try db.fetch("SELECT holder FROM leases WHERE name = ?", [name]).first?[0] ?? holder
        }
    }
}
