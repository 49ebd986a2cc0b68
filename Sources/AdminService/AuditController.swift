import GSLBCore

/// `/v1/audit`: the audit log, oldest first, filtered by object and time.
struct AuditController: AdminController {
    let repo: any AuditRepository
    let clock: @Sendable () -> Double

    func addRoutes(to routes: AdminRoutes) {
        routes.on(.get, "/v1/audit", .read) { c in try listAudit(c) }
    }

    func listAudit(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        func time(_ key: String) throws -> Double? {
            guard let s = c.query(key), !s.isEmpty else { return nil }
            if let t = RFC3339.parse(s) { return t }
            if let d = TimeSpan.seconds(s) { return clock() - d }
            if let t = Double(s), t.isFinite { return t }
            throw APIError.badRequest(key, "expected an RFC 3339 time or a duration such as 1h (that long ago)")
        }
        func int(_ key: String, _ def: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let s = c.query(key) else { return def }
            guard let v = Int(s), range.contains(v) else { throw APIError.badRequest(key, "expected an integer in \(range.lowerBound)...\(range.upperBound)") }
            return v
        }
        let limit = try int("limit", 100, 1...1000)
        let offset = try int("offset", 0, 0...Int(Int32.max))
        let since = try time("since")
        let until = try time("until")
        let object = c.query("object").flatMap { $0.isEmpty ? nil : $0 }
        let entries = try repo.listAudit(object: object, since: since, until: until, limit: limit, offset: offset)
        return .ok(Encode.AuditPage(entries: entries.map { Encode.audit($0, showCommand: c.isAdmin) }, limit: limit, offset: offset))
    }
}
