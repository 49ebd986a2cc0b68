
/// The body of `POST /v1/tokens`, read by the codec of config objects: a problem names its key, an
/// unknown key gets "did you mean", `null` is absent.
public struct TokenRequest: Decodable {
    public var name = ""
    public var scope = TokenScope.read
    /// Seconds from now; nil = no expiry.
    public var expiresIn: Double?

    public enum CodingKeys: String, ConfigCodingKeys {
        case name, scope, expires_in
        public static let what = "a token"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let n = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        if n.isEmpty || n.count > 100 { try decoder.problem(at: c.path(.name), "required: 1 to 100 characters") } else { name = n }
        if let s = try c.text(.scope, decoder, TokenScope.init(rawValue:), { _ in "expected read, write or admin" }) {
            scope = s
        } else if c.isAbsent(.scope) {
            try decoder.problem(at: c.path(.scope), "expected read, write or admin")
        }
        expiresIn = try c.text(.expires_in, decoder, TimeSpan.positiveSeconds) { _ in "expected a duration such as 30d" }
    }
}
