import Foundation
import GSLBCore
@testable import AdminService
import Testing

/// API JSON comes from the model's own `encode(to:)` through `jsonText` (OrderedJSONEncoder): keys in the
/// documented order, absent values as explicit nulls, `version` added last by the API.
@Suite struct AdminEncodingTests {
    @Test func aPoolIsWrittenInDocumentedOrderWithNullsAndVersions() {
        let p = Pool(name: "www.example.com.", policy: .weighted, rto: 90,
                     members: [Member(site: "fra", address: "192.0.2.1", probe: ProbeTarget(port: 8080), load: 0.5),
                               Member(site: "iad", address: "192.0.2.2", state: .drain)])
        let j = jsonText(Encode.pool(p, versions: ["pool:www.example.com./A": 3, "member:www.example.com./A/192.0.2.1": 2]))
        #expect(j == #"{"name":"www.example.com.","type":"A","policy":"weighted","ttl":30,"answers":1,"ecs":true,"#
            + #""fallback":"all","monitor":null,"rto":"90s","members":["#
            + #"{"site":"fra","address":"192.0.2.1","weight":100,"priority":1,"state":"enabled","monitor":null,"#
            + #""probe":{"address":null,"port":8080},"load":0.5,"version":2},"#
            + #"{"site":"iad","address":"192.0.2.2","weight":100,"priority":1,"state":"drain","monitor":null,"#
            + #""probe":null,"load":null,"version":null}],"version":3}"#)
    }

    @Test func siteAndTopologyNumbersAreWrittenAsTheyWere() {
        let s = Site(name: "fra", region: "eu", location: GeoPoint(lat: 50.11, lon: 8.68), capacity: 1000)
        #expect(jsonText(versioned(s, 1))
            == #"{"name":"fra","region":"eu","location":{"lat":50.11,"lon":8.68},"capacity":1000,"load":null,"version":1}"#)
        #expect(jsonText(versioned(TopologyEntry(network: "172.16.0.0/12", site: "iad"), nil))
            == #"{"network":"172.16.0.0/12","region":null,"site":"iad","location":null,"version":null}"#)
    }

    @Test func monitorOptionsFollowTheFixedKeysInKeyOrderAsStored() {
        let m = Monitor(name: "web", type: .http, port: 8080, intervalMs: 1500,
                        options: ["path": "/healthz", "expect_status": "[200,204]", "host": "true", "body": "1.50", "x": "{\"a\":1}"])
        #expect(jsonText(Encode.monitor(m, version: 4, showCommand: false))
            == #"{"name":"web","type":"http","port":8080,"interval":"1500ms","timeout":"500ms","rise":2,"fall":2,"#
            + #""body":1.50,"expect_status":[200,204],"host":true,"path":"/healthz","x":{"a":1},"version":4}"#)
    }

    @Test func aCommandMonitorsArgvIsForAdminOnly() {
        let m = Monitor(name: "c", type: .command, options: ["command": #"["/bin/check","--token","s3cret"]"#])
        #expect(!jsonText(Encode.monitor(m, version: 1, showCommand: false)).contains(#""command":"#))
        #expect(jsonText(Encode.monitor(m, version: 1, showCommand: true)).contains(#""command":["/bin/check","--token","s3cret"]"#))
    }

    @Test func foundationsEncoderStillLeavesAbsentValuesOut() throws {
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        let text = String(decoding: try enc.encode(Site(name: "fra", capacity: 10)), as: UTF8.self)
        #expect(text == #"{"capacity":10,"name":"fra"}"#)
    }

    // The shapes the hand-written builders wrote before these objects got their `encode(to:)`.

    @Test func overridesAreWrittenAsTheyWere() {
        let o = Override(id: 7, scope: .member, target: "www.example.com./192.0.2.1", state: .drain, reason: "kernel \"6\"",
                         principal: "token:ops", expiresAt: 1_700_003_600, createdAt: 1_700_000_000.25, drillID: "d-1")
        #expect(jsonText(o) == #"{"id":7,"scope":"member","target":"www.example.com./192.0.2.1","state":"drain","#
            + #""reason":"kernel \"6\"","principal":"token:ops","expires_at":"2023-11-14T23:13:20.000Z","permanent":false,"#
            + #""created_at":"2023-11-14T22:13:20.250Z","drill_id":"d-1"}"#)
        let permanent = Override(scope: .site, target: "fra", state: .down, reason: "r", principal: "p", expiresAt: nil, createdAt: 0)
        #expect(jsonText(permanent) == #"{"id":null,"scope":"site","target":"fra","state":"down","reason":"r","principal":"p","#
            + #""expires_at":null,"permanent":true,"created_at":"1970-01-01T00:00:00.000Z","drill_id":null}"#)
    }

    @Test func tokensAreWrittenAsTheyWereWithoutTheirHash() {
        let t = APIToken(id: 3, name: "ci", hash: "abc", scope: .write, expiresAt: nil, createdAt: 1_700_000_000, lastUsedAt: 1_700_000_060)
        #expect(jsonText(t) == #"{"id":3,"name":"ci","scope":"write","expires_at":null,"created_at":"2023-11-14T22:13:20.000Z","#
            + #""last_used_at":"2023-11-14T22:14:20.000Z"}"#)
        #expect(jsonText(WithKey(t, "token", "cairn_x")).hasSuffix(#""last_used_at":"2023-11-14T22:14:20.000Z","token":"cairn_x"}"#))
    }

    @Test func auditRowsEmbedTheStoredObjectsAsTheyAre() {
        let a = AuditEntry(id: 9, time: 1_700_000_000, principal: "token:ops", source: "127.0.0.1", action: "update", object: "site:fra",
                           before: #"{"name":"fra"}"#, after: #"{"capacity":10,"name":"fra"}"#)
        #expect(jsonText(Encode.AuditPage(entries: [Encode.audit(a, showCommand: false)], limit: 100, offset: 0))
            == #"{"entries":[{"id":9,"time":"2023-11-14T22:13:20.000Z","principal":"token:ops","source":"127.0.0.1","#
            + #""request_id":null,"action":"update","object":"site:fra","before":{"name":"fra"},"after":{"capacity":10,"name":"fra"},"#
            + #""node":null}],"limit":100,"offset":0}"#)
        // Schema v3 rows name the node that made the change.
        var fromNode = a
        fromNode.node = "ns1"
        #expect(jsonText(Encode.audit(fromNode, showCommand: false)).hasSuffix(#""after":{"capacity":10,"name":"fra"},"node":"ns1"}"#))
        let m = AuditEntry(time: 0, principal: "p", source: "s", action: "create", object: "monitor:c",
                           after: #"{"name":"c","options":{"command":"[\"/bin/x\"]"},"type":"command"}"#)
        #expect(jsonText(Encode.audit(m, showCommand: true)).contains(#""after":{"name":"c","options":{"command":"[\"/bin/x\"]"},"type":"command"}"#))
        #expect(jsonText(Encode.audit(m, showCommand: false))
            .contains(#""after":{"name":"c","options":{"command":"(hidden: admin scope only)"},"type":"command"}"#))
    }

    @Test func errorsAndZonesKeepTheirKeys() {
        // RFC 9457 problem details: Cairn's keys first, then status, title and detail.
        #expect(jsonText(APIError.invalid("ttl", "expected a number"))
                == #"{"error":"invalid","field":"ttl","message":"expected a number","status":422,"title":"Unprocessable Content","detail":"expected a number"}"#)
        #expect(jsonText(APIError.notFound("no such path"))
                == #"{"error":"not-found","field":null,"message":"no such path","status":404,"title":"Not Found","detail":"no such path"}"#)
        #expect(jsonText(ZoneList(zones: [.init(origin: "example.com.", serial: 7, source: "zones/example.com.zone")], errors: []))
            == #"{"zones":[{"origin":"example.com.","serial":7,"source":"zones/example.com.zone"}],"errors":[]}"#)
        #expect(jsonText(ZoneList(zones: [], errors: ["x"], generation: 4)) == #"{"zones":[],"errors":["x"],"generation":4}"#)
    }
}
