import Foundation
import GSLBCore
import Hummingbird
import SnapshotService

/// `/v1/dnssec` (admin scope): signed zones' keys (docs/dnssec.md). Private keys are never returned.
/// A write is in the answers before the response (the publisher rebuilds the snapshot).
struct DNSSECController: AdminController {
    let repo: any DNSSECKeyRepository
    let publisher: SnapshotPublisher

    func addRoutes(to routes: AdminRoutes) {
        routes.on(.get, "/v1/dnssec", .admin) { _ in try listZones(nil) }
        routes.on(.get, "/v1/dnssec/:zone", .admin) { c in try zone(c) }
        routes.on(.post, "/v1/dnssec/:zone", .admin) { c in try await enable(c) }
        routes.on(.delete, "/v1/dnssec/:zone", .admin) { c in try disable(c) }
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
            ds = keys.filter { $0.role.signsKeys }.map(\.dsText)
            dnskey = keys.map(\.dnskeyText)
        }
    }

    func listZones(_ only: String?) throws -> AdminAPI.Reply {
        let keys = try repo.listDNSSECKeys(zone: only)
        var zones: [ZoneKeys] = []
        for k in keys {
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
        let keys: [DNSSECKey]
        do {
            keys = try repo.enableDNSSEC(zone: c.param("zone"), algorithm: body.algorithm, split: body.kskZsk,
                                         principal: c.principal, source: c.context.remote, requestID: c.requestID)
        } catch let e as RepositoryFailure where e.failureKind == .conflict {
            throw APIError.conflict("zone", e.failureMessage)   // not a stale If-Match: the zone is signed already
        }
        publisher.refreshIfChanged()
        return .created(ZoneKeys(keys.first?.zone ?? c.param("zone"), keys))
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
        if let a = try c.text(.algorithm, decoder, { DNSSECAlgorithm(rawValue: $0.lowercased()) }, { _ in
            "expected " + DNSSECAlgorithm.allCases.map(\.rawValue).joined(separator: " or ")
        }) {
            algorithm = a
        }
        kskZsk = try c.decodeIfPresent(Bool.self, forKey: .kskZsk) ?? false
    }
}
