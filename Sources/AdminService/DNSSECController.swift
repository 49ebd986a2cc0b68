import GSLBCore
import SnapshotService

/// `/v1/dnssec` (admin scope): signed zones' keys (docs/dnssec.md). Private keys are never returned.
/// A write is in the answers before the response (the publisher rebuilds the snapshot).
struct DNSSECController: AdminController {
    let repo: any DNSSECKeyRepository & DNSSECRolloverRepository
    let publisher: SnapshotPublisher

    func addRoutes(to routes: AdminRoutes) {
        routes.on(.get, "/v1/dnssec", .admin) { _ in try listZones(nil) }
        routes.on(.get, "/v1/dnssec/:zone", .admin) { c in try zone(c) }
        routes.on(.post, "/v1/dnssec/:zone", .admin) { c in try await enable(c) }
        routes.on(.delete, "/v1/dnssec/:zone", .admin) { c in try disable(c) }
        routes.on(.post, "/v1/dnssec/:zone/rollover", .admin) { c in try await rollover(c) }
        routes.on(.post, "/v1/dnssec/:zone/ds-seen", .admin) { c in try dsSeen(c) }
    }

    /// One signed zone: its keys, the DS records for its parent and the DNSKEY records (trust anchors).
    struct ZoneKeys: Encodable {
        var zone: String
        var keys: [DNSSECKey]
        var ds: [String]
        var dnskey: [String]

        init(_ zone: String, _ keys: [DNSSECKey]) {
            self.zone = zone
            self.keys = keys
            ds = DNSSECRollover.parentKeys(keys).map(\.dsText)
            dnskey = keys.map(\.dnskeyText)
        }
    }

    func listZones(_ only: String?) throws -> AdminAPI.Reply {
        var zones: [ZoneKeys] = []
        for k in try repo.listDNSSECKeys(zone: only) {
            if zones.last?.zone == k.zone { zones[zones.count - 1] = ZoneKeys(k.zone, zones[zones.count - 1].keys + [k]) }
            else { zones.append(ZoneKeys(k.zone, [k])) }
        }
        return .ok(["zones": zones])
    }

    func zone(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        let name = DNSSECKey.normalizedZone(c.param("zone")) ?? c.param("zone")
        let keys = try repo.listDNSSECKeys(zone: name)
        guard !keys.isEmpty else { throw APIError.notFound("the zone is not signed") }
        return .ok(ZoneKeys(name, keys))
    }

    func enable(_ c: AdminAPI.Call) async throws -> AdminAPI.Reply {
        let body = try await c.body(DNSSECEnableRequest.self, "a DNSSEC key set")
        // A conflict is not a stale If-Match: the zone is signed already.
        let keys = try APIError.conflictAs("zone") {
            try repo.enableDNSSEC(zone: c.param("zone"), algorithm: body.algorithm, split: body.kskZsk,
                                  principal: c.principal, source: c.context.remote, requestID: c.requestID)
        }
        publisher.refreshIfChanged()
        return .created(ZoneKeys(keys.first?.zone ?? c.param("zone"), keys))
    }

    /// Starts a rollover: 201 with the zone's keys (the new one `published`); 409 while one runs.
    func rollover(_ c: AdminAPI.Call) async throws -> AdminAPI.Reply {
        let body = try await c.body(DNSSECRolloverRequest.self, "a DNSSEC rollover")
        let zone = DNSSECKey.normalizedZone(c.param("zone")) ?? c.param("zone")
        _ = try APIError.conflictAs("zone") {
            try repo.startRollover(zone: zone, ksk: body.ksk, delays: body.delays, principal: c.principal,
                                   source: c.context.remote, requestID: c.requestID)
        }
        publisher.refreshIfChanged()
        return .created(ZoneKeys(zone, try repo.listDNSSECKeys(zone: zone)))
    }

    /// The parent has the new DS: 200 with the zone's keys; 409 when no key waits for it.
    func dsSeen(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        let zone = DNSSECKey.normalizedZone(c.param("zone")) ?? c.param("zone")
        let keys = try APIError.conflictAs("zone") {
            try repo.confirmDS(zone: zone, principal: c.principal, source: c.context.remote, requestID: c.requestID)
        }
        publisher.refreshIfChanged()
        return .ok(ZoneKeys(zone, keys))
    }

    func disable(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        try repo.disableDNSSEC(zone: c.param("zone"), principal: c.principal, source: c.context.remote, requestID: c.requestID)
        publisher.refreshIfChanged()
        return .noContent
    }
}

/// The body of `POST /v1/dnssec/{zone}`: `{}` for the defaults.
struct DNSSECEnableRequest: Decodable {
    var algorithm = DNSSECAlgorithm.ecdsap256sha256
    var kskZsk = false

    enum CodingKeys: String, ConfigCodingKeys {
        case algorithm, kskZsk = "ksk_zsk"
        static let what = "a DNSSEC key set"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        algorithm = try c.text(.algorithm, decoder, { DNSSECAlgorithm(rawValue: $0.lowercased()) }, { _ in
            "expected " + DNSSECAlgorithm.allCases.map(\.rawValue).joined(separator: " or ")
        }) ?? algorithm
        kskZsk = try c.decodeIfPresent(Bool.self, forKey: .kskZsk) ?? false
    }
}

/// The body of `POST /v1/dnssec/{zone}/rollover`: `{"key": "zsk"}` or `{"key": "ksk"}`, and the delays
/// (durations; defaults 1h, 1d, 1h as `cairn dnssec rollover`).
struct DNSSECRolloverRequest: Decodable {
    var ksk = false
    var delays = RolloverDelays.standard

    enum CodingKeys: String, ConfigCodingKeys {
        case key, propagation, dsTTL = "ds_ttl", parentPropagation = "parent_propagation"
        static let what = "a DNSSEC rollover"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.isAbsent(.key) {
            try decoder.problem(at: c.path(.key), "required: zsk or ksk")
        } else if let k = try c.text(.key, decoder, { ["zsk", "ksk"].contains($0.lowercased()) ? $0.lowercased() : nil }, { _ in
            "expected zsk or ksk"
        }) {
            ksk = k == "ksk"
        }
        let duration = { (t: String) in TimeSpan.seconds(t).flatMap { $0 <= 366 * 86_400 ? $0 : nil } }
        let message = { (_: String) in "expected \(TimeSpan.expected), at most a year" }
        if let p = try c.text(.propagation, decoder, duration, message) { delays.propagation = p }
        if let t = try c.text(.dsTTL, decoder, duration, message) { delays.dsTTL = t }
        if let p = try c.text(.parentPropagation, decoder, duration, message) { delays.parentPropagation = p }
    }
}
