import Foundation
import Testing

/// Limits on the size of the configuration (issue 14, "No limits on configuration size"): a pool of
/// 18,000 members posted through the API took seconds and hundreds of MiB. Every collection has a
/// documented, configurable cap (docs/security.md), the API refuses growth past it with 422 naming the
/// field, and `cairn apply` checks the same caps.
@Suite(.serialized) struct ConfigLimitsTests {
    /// A pool body with `count` members of site fra (10.x.y.z addresses).
    static func poolBody(_ name: String, members count: Int) -> String {
        let members = (0..<count).map { i in
            "{\"site\":\"fra\",\"address\":\"10.\((i >> 16) & 255).\((i >> 8) & 255).\(i & 255)\"}"
        }
        return "{\"name\":\"\(name)\",\"type\":\"A\",\"policy\":\"weighted\",\"members\":[\(members.joined(separator: ","))]}"
    }

    @Test func aPoolOfEighteenThousandMembersIsRefusedAtOnceAndChangesNothing() throws {
        let s = try AdminAPITests.start()
        defer { s.process.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        let before = try s.state()
        let body = Self.poolBody("big.gslb.test.", members: 18_000)
        #expect(body.utf8.count < 1 << 20, "the body must fit under the body cap to reach the member check")
        let r = try s.call("POST", "/v1/pools", token: s.write, body: body)
        #expect(r.status == 422, "\(r.status) \(r.body.prefix(300))")
        #expect(r.field == "members", "\(r.body)")
        #expect(r.body.contains("1000") && r.body.contains("--max-members-per-pool"), "\(r.body)")
        #expect(try s.state() == before)
    }

    @Test func everyCollectionStopsGrowingAtItsConfiguredLimit() throws {
        // The test config has 2 sites, 2 pools (1+2 members... A: 2, AAAA: 1) and 3 topology entries.
        let s = try AdminAPITests.start(extra: ["--max-members-per-pool", "2", "--max-pools", "2", "--max-topology-entries", "3",
                                                "--max-sites", "2", "--max-monitors", "1"])
        defer { s.process.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        let before = try s.state()
        let member = try s.call("POST", "/v1/pools/www.gslb.test./members?type=A", token: s.write,
                                body: #"{"site": "fra", "address": "192.0.2.77"}"#)
        #expect(member.status == 422 && member.field == "members", "\(member.status) \(member.body)")
        let pool = try s.call("POST", "/v1/pools", token: s.write, body: Self.poolBody("more.gslb.test.", members: 1))
        #expect(pool.status == 422 && pool.field == "pools", "\(pool.status) \(pool.body)")
        let entry = try s.call("POST", "/v1/topology", token: s.write, body: #"{"network": "10.0.0.0/8", "region": "eu"}"#)
        #expect(entry.status == 422 && entry.field == "topology", "\(entry.status) \(entry.body)")
        let site = try s.call("POST", "/v1/sites", token: s.write, body: #"{"name": "ams"}"#)
        #expect(site.status == 422 && site.field == "sites", "\(site.status) \(site.body)")
        let m1 = try s.call("POST", "/v1/monitors", token: s.write, body: #"{"name": "a", "type": "tcp", "port": 80}"#)
        #expect(m1.status == 201, "\(m1.status) \(m1.body)")
        let m2 = try s.call("POST", "/v1/monitors", token: s.write, body: #"{"name": "b", "type": "tcp", "port": 80}"#)
        #expect(m2.status == 422 && m2.field == "monitors", "\(m2.status) \(m2.body)")
        #expect(try s.call("DELETE", "/v1/monitors/a", token: s.write).status == 204)
        #expect(try s.state() == before)
        // At the limit, changing what is there and shrinking still work.
        let weight = try s.call("PUT", "/v1/pools/www.gslb.test./members/192.0.2.10?type=A", token: s.write,
                                body: #"{"site": "fra", "weight": 5}"#)
        #expect(weight.status == 200, "\(weight.status) \(weight.body)")
    }

    @Test func applyChecksTheSameLimits() throws {
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let f = try env.file("gslb.yaml", GSLBTests.config())
        let (rc, out) = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones, "--max-pools", "1"])
        #expect(rc != 0, "\(out)")
        #expect(out.contains("pools: 2 pools; at most 1 (--max-pools)"), "\(out)")
        #expect(out.contains("nothing applied"), "\(out)")
        let (ok, okOut) = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        #expect(ok == 0, "\(okOut)")
    }
}
