import GSLBConfigFile
import GSLBCore
@testable import AdminService
import Testing

/// `POST /v1/overrides` bodies go through the config codec: each problem names its key.
@Suite struct OverrideRequestTests {
    let ok: [String: Any] = ["scope": "site", "target": "fra", "state": "down", "reason": "x", "expires_in": "1h"]

    func problem(_ change: [String: Any?]) -> ConfigIssue? {
        var body = ok
        for (k, v) in change { body[k] = v }
        if case .failure(let issues) = ConfigFile.decode(OverrideRequest.self, json: body) { return issues.first }
        return nil
    }

    @Test func aValidBodyDecodes() throws {
        let r = try ConfigFile.decode(OverrideRequest.self, json: ok).get()
        #expect(r.scope == .site && r.target == "fra" && r.state == .down && r.reason == "x" && r.expiresIn == 3600 && !r.permanent)
        let p = try ConfigFile.decode(OverrideRequest.self, json: ["scope": "pool", "target": "www", "state": "up", "reason": "y",
                                                                   "permanent": true]).get()
        #expect(p.permanent && p.expiresAt == nil && p.expiresIn == nil)
    }

    @Test func eachProblemNamesItsKey() {
        #expect(problem(["scope": "planet"])?.path == "scope")
        #expect(problem(["scope": nil])?.message == "required: site, pool or member")
        #expect(problem(["target": ""])?.path == "target")
        #expect(problem(["state": "sideways"])?.message == "expected up, down or drain")
        #expect(problem(["reason": " "])?.message == "required: say why")
        #expect(problem(["reason": String(repeating: "r", count: 1001)])?.path == "reason")
        #expect(problem(["expires_in": "soon"])?.path == "expires_in")
        #expect(problem(["expires_at": "tomorrow"])?.path == "expires_at")
        #expect(problem(["expires_at": "2030-01-01T00:00:00Z"])?.message == "give expires_at or expires_in, not both")
        #expect(problem(["permanent": true])?.message == "a permanent override has no expiry")
        #expect(problem(["expires_in": nil])?.message == "required unless permanent: true")
        #expect(problem(["permanent": "yes"])?.path == "permanent")
        #expect(problem(["reasons": "x"])?.message.contains("did you mean \"reason\"") == true)
    }
}
