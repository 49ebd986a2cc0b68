import GSLBConfigFile
import GSLBCore
@testable import AdminService
import Testing

/// `POST /v1/tokens` bodies go through the config codec: each problem names its key.
@Suite struct TokenRequestTests {
    func problem(_ body: [String: Any]) -> ConfigIssue? {
        if case .failure(let issues) = ConfigFile.decode(TokenRequest.self, json: body) { return issues.first }
        return nil
    }

    @Test func aValidBodyDecodes() throws {
        let r = try ConfigFile.decode(TokenRequest.self, json: ["name": "ci", "scope": "write", "expires_in": "30d"]).get()
        #expect(r.name == "ci" && r.scope == .write && r.expiresIn == 30 * 86400)
        #expect(try ConfigFile.decode(TokenRequest.self, json: ["name": "ci", "scope": "read"]).get().expiresIn == nil)
        // As in every body: a number where a string is expected is taken as its text.
        #expect(try ConfigFile.decode(TokenRequest.self, json: ["name": 7, "scope": "read"]).get().name == "7")
    }

    @Test func eachProblemNamesItsKey() {
        #expect(problem(["scope": "read"])?.path == "name")
        #expect(problem(["name": String(repeating: "x", count: 101), "scope": "read"])?.path == "name")
        #expect(problem(["name": ["ci"], "scope": "read"])?.path == "name")
        #expect(problem(["name": "ci"])?.path == "scope")
        #expect(problem(["name": "ci", "scope": "root"])?.message == "expected read, write or admin")
        #expect(problem(["name": "ci", "scope": "read", "expires_in": "soon"])?.path == "expires_in")
        #expect(problem(["name": "ci", "scope": "read", "expires_in": "0s"])?.path == "expires_in")
        let unknown = problem(["name": "ci", "scope": "read", "expire_in": "1d"])
        #expect(unknown?.path == "expire_in" && unknown?.message.contains("did you mean \"expires_in\"") == true)
    }
}
