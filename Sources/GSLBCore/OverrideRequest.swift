import Foundation

/// The body of `POST /v1/overrides`, read by the codec of config objects: a problem names its key,
/// an unknown key gets "did you mean", `null` is absent. Whether the target exists and whether
/// `expires_at` is still ahead are the handler's checks.
public struct OverrideRequest: Decodable {
    public var scope = OverrideScope.site
    public var target = ""
    public var state = ForcedState.down
    public var reason = ""
    public var permanent = false
    /// Unix seconds (`expires_at`).
    public var expiresAt: Double?
    /// Seconds from now (`expires_in`).
    public var expiresIn: Double?

    public enum CodingKeys: String, ConfigCodingKeys {
        case scope, target, state, reason, expires_at, expires_in, permanent
        public static let what = "an override"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let s = try c.text(.scope, decoder, OverrideScope.init(rawValue:), { _ in "expected site, pool or member" }) {
            scope = s
        } else if c.isAbsent(.scope) { try decoder.problem(at: c.path(.scope), "required: site, pool or member") }
        let t = try c.decodeIfPresent(String.self, forKey: .target)
        if let t, !t.isEmpty { target = t } else if t != nil || c.isAbsent(.target) { try decoder.problem(at: c.path(.target), "required") }
        if let s = try c.text(.state, decoder, ForcedState.init(rawValue:), { _ in "expected up, down or drain" }) {
            state = s
        } else if c.isAbsent(.state) { try decoder.problem(at: c.path(.state), "required: up, down or drain") }
        let r = try c.decodeIfPresent(String.self, forKey: .reason)
        if let r, !r.trimmingCharacters(in: .whitespaces).isEmpty {
            if r.count > 1000 { try decoder.problem(at: c.path(.reason), "at most 1000 characters") } else { reason = r }
        } else if r != nil || c.isAbsent(.reason) { try decoder.problem(at: c.path(.reason), "required: say why") }
        permanent = try c.decodeIfPresent(Bool.self, forKey: .permanent) ?? false
        expiresAt = try c.time(.expires_at, decoder)
        expiresIn = try c.text(.expires_in, decoder, TimeSpan.positiveSeconds) { _ in "expected a duration such as 30m or 2h" }
        if !c.isAbsent(.expires_at) && !c.isAbsent(.expires_in) {
            try decoder.problem(at: c.path(.expires_in), "give expires_at or expires_in, not both")
        } else if permanent && (expiresAt != nil || expiresIn != nil) {
            try decoder.problem(at: c.path(.permanent), "a permanent override has no expiry")
        } else if !permanent && c.isAbsent(.expires_at) && c.isAbsent(.expires_in) {
            try decoder.problem(at: c.path(.expires_at), "required unless permanent: true")
        }
    }
}
