import Crypto
import DNSWire
import Foundation

/// The HMAC algorithms of TSIG keys (RFC 8945 §6): the ones RFC 8945 says to implement and
/// BIND, NSD and Knot all know. HMAC-MD5 is left out (deprecated by RFC 8945).
public enum TSIGAlgorithm: String, CaseIterable, Hashable, Sendable {
    case hmacSHA1 = "hmac-sha1"
    case hmacSHA256 = "hmac-sha256"
    case hmacSHA384 = "hmac-sha384"
    case hmacSHA512 = "hmac-sha512"

    /// The algorithm's name as a domain name (`hmac-sha256.`), lower-case wire form.
    public var wireName: [UInt8] {
        let label = Array(rawValue.utf8)
        return [UInt8(label.count)] + label + [0]
    }

    /// Octets of an untruncated MAC (the hash's output).
    public var macSize: Int {
        switch self {
        case .hmacSHA1: 20
        case .hmacSHA256: 32
        case .hmacSHA384: 48
        case .hmacSHA512: 64
        }
    }

    /// The HMAC of everything `feed` hands to its `update` argument, under `secret`.
    public func mac(secret: [UInt8], _ feed: (_ update: (UnsafeRawBufferPointer) -> Void) -> Void) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        switch self {
        case .hmacSHA1: return Self.mac(Insecure.SHA1.self, key, feed)
        case .hmacSHA256: return Self.mac(SHA256.self, key, feed)
        case .hmacSHA384: return Self.mac(SHA384.self, key, feed)
        case .hmacSHA512: return Self.mac(SHA512.self, key, feed)
        }
    }

    private static func mac<H: HashFunction>(_: H.Type, _ key: SymmetricKey,
                                              _ feed: (_ update: (UnsafeRawBufferPointer) -> Void) -> Void) -> [UInt8] {
        var hmac = HMAC<H>(key: key)
        feed { hmac.update(data: $0) }
        return Array(hmac.finalize())
    }
}

/// A TSIG key (RFC 8945): a name, an algorithm and a shared secret. Kept in the store
/// (`tsig_keys`), carried by the serving snapshot, shown to operators once (at creation) in
/// BIND's key-file form. Its `description`, its encoding (API, audit log) and its mirror never
/// hold the secret.
public struct TSIGKey: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Absolute and lower-cased, with its trailing dot (`xfr.example.`).
    public var name: String
    public var algorithm: TSIGAlgorithm
    public var secret: [UInt8]
    /// Seconds since the Unix epoch.
    public var createdAt: Double

    /// At most this many keys in a store (`cairn tsig add` and the API refuse the next one).
    public static let maxCount = 1_000
    /// Secret length in octets: at least 16 (128 bits; RFC 8945 §6 asks for no less than half the
    /// hash), at most 512 (HMAC hashes a longer key down to the hash's size anyway).
    public static let minSecretOctets = 16
    public static let maxSecretOctets = 512

    public init(name: String, algorithm: TSIGAlgorithm, secret: [UInt8], createdAt: Double = 0) {
        self.name = name; self.algorithm = algorithm; self.secret = secret; self.createdAt = createdAt
    }

    public var description: String { "TSIG key \(name) (\(algorithm.rawValue))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["name": name, "algorithm": algorithm.rawValue]) }

    /// The name checked and put in its stored form (lower-case, absolute), or why it cannot be a key name:
    /// letters, digits, `-` and `_` in dot-separated labels (so that it reads back from a BIND key file).
    public static func normalizedName(_ text: String) -> Result<String, TSIGKeyProblem> {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_.".utf8)
        let lower = text.lowercased()
        guard !text.isEmpty, text != ".", lower.utf8.allSatisfy(allowed.contains),
              (try? DomainName(lower.hasSuffix(".") ? lower : lower + ".")) != nil else {
            return .failure(TSIGKeyProblem("expected a domain name such as xfr.example: letters, digits, '-' and '_' "
                                           + "in dot-separated labels of 1 to 63 octets, 255 in all"))
        }
        return .success(lower.hasSuffix(".") ? lower : lower + ".")
    }

    /// A secret decoded from base64 (as in a BIND key file), or why not.
    public static func secret(base64 text: String) -> Result<[UInt8], TSIGKeyProblem> {
        let compact = text.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: compact) else { return .failure(TSIGKeyProblem("the secret is not base64")) }
        return checkedSecret(Array(data))
    }

    public static func checkedSecret(_ bytes: [UInt8]) -> Result<[UInt8], TSIGKeyProblem> {
        guard (minSecretOctets...maxSecretOctets).contains(bytes.count) else {
            return .failure(TSIGKeyProblem("the secret must be \(minSecretOctets) to \(maxSecretOctets) octets (got \(bytes.count))"))
        }
        return .success(bytes)
    }

    /// A new random secret (swift-crypto), as long as the algorithm's MAC (as BIND's `tsig-keygen`).
    public static func generateSecret(for algorithm: TSIGAlgorithm) -> [UInt8] {
        SymmetricKey(size: SymmetricKeySize(bitCount: algorithm.macSize * 8)).withUnsafeBytes { Array($0) }
    }

    public var base64Secret: String { Data(secret).base64EncodedString() }

    /// The key as BIND's `named.conf` / `dig -k` / `nsupdate -k` key file reads it.
    public var bindKeyFile: String {
        "key \"\(name.hasSuffix(".") ? String(name.dropLast()) : name)\" {\n"
            + "\talgorithm \(algorithm.rawValue);\n\tsecret \"\(base64Secret)\";\n};"
    }
}

/// Why a key's name or secret is refused.
public struct TSIGKeyProblem: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The keys of a serving snapshot, by their lower-case wire name: what the query path looks a
/// signed query's key up in. Immutable; built by the snapshot builder when the store's keys change.
public final class TSIGKeyring: Sendable {
    let keys: [[UInt8]: TSIGKey]

    public init(_ keys: [TSIGKey]) {
        self.keys = Dictionary(keys.compactMap { k in
            (try? DomainName(k.name.hasSuffix(".") ? k.name : k.name + ".")).map { ($0.key, k) }
        }, uniquingKeysWith: { _, last in last })
    }

    public static let empty = TSIGKeyring([])

    public var count: Int { keys.count }

    /// The key named `keyName` (lower-case wire form), if any.
    public func key(_ keyName: [UInt8]) -> TSIGKey? { keys[keyName] }
}
