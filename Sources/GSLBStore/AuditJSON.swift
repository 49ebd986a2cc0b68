import Foundation
import GSLBCore

// JSON text of objects for the audit log's before/after columns: each object's own `encode(to:)`
// (GSLBCore/Model+Codable.swift, the codec of files and API bodies) in its stored shape
// (`CodingUserInfoKey.auditShape`), keys sorted, absent values left out.

enum AuditJSON {
    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.userInfo[.auditShape] = true
        // The objects hold only strings, numbers and bools: encoding cannot fail.
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    static func site(_ s: Site) -> String { encode(s) }
    static func monitor(_ m: Monitor) -> String { encode(m) }
    static func pool(_ p: Pool) -> String { encode(p) }
    static func geoip(_ g: GeoIPConfig) -> String { encode(g) }
    static func override(_ o: Override) -> String { encode(o) }
    static func token(_ t: APIToken) -> String { encode(t) }
    /// Name and algorithm only: never the secret.
    static func tsigKey(_ k: TSIGKey) -> String { encode(k) }
    /// Tags, roles, algorithms and public keys only: never a private key.
    static func dnssecKeys(_ k: [DNSSECKey]) -> String { encode(["keys": k]) }

    /// An entry with its place in the table (`position`).
    static func topology(_ t: TopologyEntry, position: Int) -> String { encode(WithKey(t, "position", position)) }
}
