import Foundation
import Synchronization
import Testing

/// Optimistic concurrency through `If-Match` (issue 14, "If-Match gaps"): every write that can
/// take a version checks it, the ETag a write returns is the version that write made, and
/// `If-Match: *` (RFC 9110: "any current version") is accepted.
@Suite(.serialized) struct IfMatchTests {
    @Test func topologyWritesCheckIfMatch() throws {
        let s = try AdminAPITests.start()
        defer { s.process.stop(); try? FileManager.default.removeItem(at: s.env.dir) }

        // The table has a version of its own (any change to any entry bumps it).
        let list = try s.call("GET", "/v1/topology", token: s.read)
        let tableTag = try #require(list.headers["etag"], "GET /v1/topology has no ETag: \(list.headers)")
        let table = list.body

        // PUT of the whole table with a stale version: 412, nothing changes.
        let replace = #"{"topology": [{"network": "10.9.0.0/16", "region": "eu"}]}"#
        let stalePut = try s.call("PUT", "/v1/topology", token: s.write, body: replace, headers: ["If-Match": "\"999\""])
        #expect(stalePut.status == 412, "\(stalePut.status) \(stalePut.body)")
        #expect(try s.call("GET", "/v1/topology", token: s.read).body == table)

        // DELETE of one entry with a stale version of that entry: 412, the entry stays.
        let staleDelete = try s.call("DELETE", "/v1/topology?network=203.0.113.0/24", token: s.write,
                                     headers: ["If-Match": "\"999\""])
        #expect(staleDelete.status == 412, "\(staleDelete.status) \(staleDelete.body)")
        #expect(try s.call("GET", "/v1/topology", token: s.read).body == table)

        // With the current versions both go through, and the table's version moves.
        let put = try s.call("PUT", "/v1/topology", token: s.write, body: replace, headers: ["If-Match": tableTag])
        #expect(put.status == 200, "\(put.status) \(put.body)")
        let newTag = try #require(put.headers["etag"])
        #expect(newTag != tableTag)
        let again = try s.call("PUT", "/v1/topology", token: s.write, body: replace, headers: ["If-Match": tableTag])
        #expect(again.status == 412, "a second writer with the old table version was let through: \(again.body)")
        let entry = try s.call("GET", "/v1/topology", token: s.read)
        let version = ((entry.object["topology"] as? [[String: Any]])?.first?["version"] as? Int) ?? -1
        let delete = try s.call("DELETE", "/v1/topology?network=10.9.0.0/16", token: s.write,
                                headers: ["If-Match": "\"\(version)\""])
        #expect(delete.status == 204, "\(delete.status) \(delete.body)")
    }

    @Test func ifMatchStarMeansAnyCurrentVersion() throws {
        let s = try AdminAPITests.start()
        defer { s.process.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        let put = try s.call("PUT", "/v1/sites/fra", token: s.write, body: #"{"region": "eu", "capacity": 10}"#,
                             headers: ["If-Match": "*"])
        #expect(put.status == 200, "\(put.status) \(put.body)")
        let missing = try s.call("PUT", "/v1/sites/nowhere", token: s.write, body: #"{"region": "eu"}"#,
                                 headers: ["If-Match": "*"])
        #expect(missing.status == 404, "\(missing.status) \(missing.body)")
    }

    @Test func concurrentWritersEachGetTheVersionTheirWriteMade() throws {
        let s = try AdminAPITests.start()
        defer { s.process.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        let start = Int(try s.call("GET", "/v1/sites/fra", token: s.read).object["version"] as? Int ?? 0)
        let writers = 16
        let tags = Mutex<[String]>([])
        let port = s.api, token = s.write
        DispatchQueue.concurrentPerform(iterations: writers) { i in
            let r = try? AdminHTTP.request("PUT", port: port, "/v1/sites/fra", token: token,
                                           body: "{\"region\": \"eu\", \"capacity\": \(100 + i)}")
            if let r, r.status == 200 { tags.withLock { $0.append(r.headers["etag"] ?? "none") } }
        }
        let got = tags.withLock { $0 }
        #expect(got.count == writers, "\(got)")
        // Each write bumped the version once: the ETags are exactly start+1 ... start+writers, no two alike.
        let expected = Set((start + 1)...(start + writers)).map { "\"\($0)\"" }
        #expect(Set(got) == Set(expected), "ETags \(got.sorted()) (two writers were told the same version)")
    }

    /// `--api-require-if-match`: a PUT or DELETE of an existing object without If-Match is 428 and changes
    /// nothing; with the current version (or `*`) it goes through; creating (POST) needs none.
    @Test func requireIfMatchRefusesBlindWritesWith428() throws {
        let s = try AdminAPITests.start(extra: ["--api-require-if-match"])
        defer { s.process.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        let before = try s.call("GET", "/v1/sites/fra", token: s.read)
        let tag = try #require(before.headers["etag"])
        let blind = try s.call("PUT", "/v1/sites/fra", token: s.write, body: #"{"region":"eu2"}"#)
        #expect(blind.status == 428, "\(blind.status) \(blind.body)")
        #expect(blind.object["error"] as? String == "precondition-required" && blind.field == "If-Match")
        let blindDelete = try s.call("DELETE", "/v1/pools/www.gslb.test./members/192.0.2.10?type=A", token: s.write)
        #expect(blindDelete.status == 428, "\(blindDelete.status) \(blindDelete.body)")
        #expect(try s.call("GET", "/v1/sites/fra", token: s.read).body == before.body)
        // (what GET returned can be PUT back: `version` is ignored in a body)
        let put = try s.call("PUT", "/v1/sites/fra", token: s.write, body: before.body, headers: ["If-Match": tag])
        #expect(put.status == 200, "\(put.body)")
        let any = try s.call("PUT", "/v1/sites/fra", token: s.write, body: before.body, headers: ["If-Match": "*"])
        #expect(any.status == 200, "\(any.body)")
        #expect(try s.call("POST", "/v1/sites", token: s.write, body: #"{"name":"ams"}"#).status == 201)
    }
}
