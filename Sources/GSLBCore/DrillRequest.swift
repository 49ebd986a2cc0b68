
/// The body of `POST /v1/drills`, read by the codec of config objects: a problem names its key, an
/// unknown key gets "did you mean", `null` is absent. Whether `at` is still ahead, the mode and the
/// target are the handler's and the runner's checks.
public struct DrillRequest: Decodable {
    public var target = DrillTarget(scope: .site, name: "")
    public var mode = "override"
    /// Seconds.
    public var hold: Double = 0
    public var force = false
    /// Unix seconds.
    public var at: Double?

    public enum CodingKeys: String, ConfigCodingKeys {
        case site, member, pool, mode, hold, force, at
        public static let what = "a drill"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var given: [DrillTarget] = []
        for (key, scope) in [(CodingKeys.site, OverrideScope.site), (.member, .member), (.pool, .pool)] {
            if let name = try c.decodeIfPresent(String.self, forKey: key), !name.isEmpty { given.append(DrillTarget(scope: scope, name: name)) }
        }
        if given.count == 1 { target = given[0] } else {
            try decoder.problem(at: c.path(.site), "name exactly one of site, member (POOL/ADDRESS) or pool")
        }
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? mode
        let duration: (String) -> Double? = { TimeSpan.seconds($0).flatMap { $0 > 0 ? $0 : nil } }
        let required = "required: a duration such as 30s or 10m"
        if let h = try c.text(.hold, decoder, duration, { _ in required }) { hold = h } else if c.isAbsent(.hold) {
            try decoder.problem(at: c.path(.hold), required)
        }
        force = try c.decodeIfPresent(Bool.self, forKey: .force) ?? false
        at = try c.time(.at, decoder)
    }
}
