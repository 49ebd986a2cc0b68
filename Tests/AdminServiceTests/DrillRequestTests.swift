import GSLBConfigFile
import GSLBCore
@testable import AdminService
import Testing

/// `POST /v1/drills` bodies go through the config codec: each problem names its key.
@Suite struct DrillRequestTests {
    func problem(_ body: [String: Any]) -> ConfigIssue? {
        if case .failure(let issues) = ConfigFile.decode(DrillRequest.self, json: body) { return issues.first }
        return nil
    }

    @Test func aValidBodyDecodes() throws {
        let r = try ConfigFile.decode(DrillRequest.self, json: ["member": "www.example.com./192.0.2.1", "hold": "2m", "force": true,
                                                                "at": "2030-01-01T00:00:00Z"]).get()
        #expect(r.target == DrillTarget(scope: .member, name: "www.example.com./192.0.2.1") && r.hold == 120 && r.force)
        #expect(r.mode == "override" && r.at == RFC3339.parse("2030-01-01T00:00:00Z"))
    }

    @Test func eachProblemNamesItsKey() {
        #expect(problem(["hold": "1m"])?.path == "site")
        #expect(problem(["site": "fra", "pool": "www", "hold": "1m"])?.path == "site")
        #expect(problem(["site": "fra"])?.message == "required: a duration such as 30s or 10m")
        #expect(problem(["site": "fra", "hold": "0s"])?.path == "hold")
        #expect(problem(["site": "fra", "hold": "1m", "force": "yes"])?.path == "force")
        #expect(problem(["site": "fra", "hold": "1m", "at": "soon"])?.path == "at")
        #expect(problem(["site": "fra", "hold": "1m", "mdoe": "probe"])?.message.contains("did you mean \"mode\"") == true)
    }

    @Test func reasonTicketAndResolversDecodeWithinTheirLimits() throws {
        let r = try ConfigFile.decode(DrillRequest.self, json: ["site": "fra", "hold": "1m", "reason": " quarterly DR test ", "ticket": "CHG-42",
                                                                "resolvers": ["127.0.0.1", "127.0.0.1:5353", "[::1]:53"]]).get()
        #expect(r.reason == "quarterly DR test" && r.ticket == "CHG-42")
        #expect(r.resolvers == ["127.0.0.1", "127.0.0.1:5353", "[::1]:53"])
        #expect(DrillRequest.resolverAddress("[::1]:5353")! == ("::1", 5353))
        #expect(DrillRequest.resolverAddress("::1")! == ("::1", 53))
        #expect(problem(["site": "fra", "hold": "1m", "reason": ""])?.path == "reason")
        #expect(problem(["site": "fra", "hold": "1m", "reason": String(repeating: "x", count: DrillRequest.maxReason + 1)])?.path == "reason")
        #expect(problem(["site": "fra", "hold": "1m", "ticket": "a\nb"])?.path == "ticket")
        #expect(problem(["site": "fra", "hold": "1m", "resolvers": ["resolver.example"]])?.path == "resolvers[0]")
        #expect(problem(["site": "fra", "hold": "1m", "resolvers": ["127.0.0.1:0"]])?.path == "resolvers[0]")
        #expect(problem(["site": "fra", "hold": "1m", "resolvers": Array(repeating: "127.0.0.1", count: DrillRequest.maxResolvers + 1)])?.path
                == "resolvers")
    }
}
