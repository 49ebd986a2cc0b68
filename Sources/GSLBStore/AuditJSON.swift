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

    /// Tags, roles, algorithms and public keys only: never a private key.
    static func dnssecKeys(_ k: [DNSSECKey]) -> String { encode(["keys": k]) }

    /// An entry with its place in the table (`position`).
    static func topology(_ t: TopologyEntry, position: Int) -> String { encode(WithKey(t, "position", position)) }
}
