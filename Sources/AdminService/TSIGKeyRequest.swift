import GSLBCore

/// The body of `POST /v1/tsig-keys`, read by the codec of config objects (as `TokenRequest`): a
/// problem names its key, an unknown key gets "did you mean", `null` is absent.
struct TSIGKeyRequest: Decodable {
    var name = ""
    var algorithm = TSIGAlgorithm.hmacSHA256
    /// Base64; nil = the server draws a random one.
    var secret: [UInt8]?

    enum CodingKeys: String, ConfigCodingKeys {
        case name, algorithm, secret
        static let what = "a TSIG key"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.isAbsent(.name) {
            try decoder.problem(at: c.path(.name), "required: a domain name such as xfr.example")
        } else if let n = try c.text(.name, decoder, { try? TSIGKey.normalizedName($0).get() }, {
            TSIGKey.normalizedName($0).failureMessage ?? ""
        }) {
            name = n
        }
        algorithm = try c.text(.algorithm, decoder, { TSIGAlgorithm(rawValue: $0.lowercased()) }, { _ in
            "expected " + TSIGAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
        }) ?? algorithm
        secret = try c.text(.secret, decoder, { try? TSIGKey.secret(base64: $0).get() }) {
            TSIGKey.secret(base64: $0).failureMessage ?? ""
        }
    }
}

extension Result where Failure == TSIGKeyProblem {
    var failureMessage: String? {
        if case .failure(let p) = self { return p.message }
        return nil
    }
}
