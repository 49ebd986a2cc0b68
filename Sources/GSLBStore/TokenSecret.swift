import Crypto
import GSLBCore

/// API token secrets: made from swift-crypto's random generator, kept only as their SHA-256 (swift-crypto). The
/// store owns them: the rest of Cairn sees `APIToken` (no secret) and asks the store for the token of a secret.
public enum TokenSecret {
    /// A new secret: `cairn_` and 43 base64url characters (256 random bits).
    public static func generate() -> String {
        "cairn_" + base64URL(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// SHA-256 of `secret` as lowercase hex: what the store keeps.
    public static func hash(_ secret: String) -> String { sha256Hex(secret) }

    static func base64URL(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out = [UInt8]()
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], table[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)]]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)]]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
