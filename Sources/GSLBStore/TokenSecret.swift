import Foundation
import Crypto
import GSLBCore

/// API token secrets: made from swift-crypto's random generator, kept only as their SHA-256 (swift-crypto). The
/// store owns them: the rest of Cairn sees `APIToken` (no secret) and asks the store for the token of a secret.
public enum TokenSecret {
    /// A new secret: `cairn_` and 43 base64url characters (256 random bits).
    public static func generate() -> String {
        // base64url (RFC 4648 §5), unpadded.
        let base64 = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
        return "cairn_" + base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// SHA-256 of `secret` as lowercase hex: what the store keeps.
    public static func hash(_ secret: String) -> String { sha256Hex(secret) }
}
