import Foundation
import GSLBCore
@testable import AdminService
import Testing

/// API JSON comes from the model's own `encode(to:)` through `OrderedJSONEncoder`: keys in the
/// documented order, absent values as explicit nulls, `version` added last by the API.
@Suite struct AdminEncodingTests {
    @Test func aPoolIsWrittenInDocumentedOrderWithNullsAndVersions() {
        let p = Pool(name: "www.example.com.", policy: .weighted, rto: 90,
                     members: [Member(site: "fra", address: "192.0.2.1", probe: ProbeTarget(port: 8080), load: 0.5),
                               Member(site: "iad", address: "192.0.2.2", state: .drain)])
        let j = Encode.pool(p, versions: ["pool:www.example.com./A": 3, "member:www.example.com./A/192.0.2.1": 2])
        #expect(j.text == #"{"name":"www.example.com.","type":"A","policy":"weighted","ttl":30,"answers":1,"ecs":true,"#
            + #""fallback":"all","monitor":null,"rto":"90s","members":["#
            + #"{"site":"fra","address":"192.0.2.1","weight":100,"priority":1,"state":"enabled","monitor":null,"#
            + #""probe":{"address":null,"port":8080},"load":0.5,"version":2},"#
            + #"{"site":"iad","address":"192.0.2.2","weight":100,"priority":1,"state":"drain","monitor":null,"#
            + #""probe":null,"load":null,"version":null}],"version":3}"#)
    }

    @Test func siteAndTopologyNumbersAreWrittenAsTheyWere() {
        let s = Site(name: "fra", region: "eu", location: GeoPoint(lat: 50.11, lon: 8.68), capacity: 1000)
        #expect(Encode.object(s, version: 1).text
            == #"{"name":"fra","region":"eu","location":{"lat":50.11,"lon":8.68},"capacity":1000,"load":null,"version":1}"#)
        #expect(Encode.object(TopologyEntry(network: "172.16.0.0/12", site: "iad"), version: nil).text
            == #"{"network":"172.16.0.0/12","region":null,"site":"iad","location":null,"version":null}"#)
    }

    @Test func monitorOptionsFollowTheFixedKeysInKeyOrderAsStored() {
        let m = Monitor(name: "web", type: .http, port: 8080, intervalMs: 1500,
                        options: ["path": "/healthz", "expect_status": "[200,204]", "host": "true", "body": "1.50", "x": "{\"a\":1}"])
        #expect(Encode.monitor(m, version: 4, showCommand: false).text
            == #"{"name":"web","type":"http","port":8080,"interval":"1500ms","timeout":"500ms","rise":2,"fall":2,"#
            + #""body":1.50,"expect_status":[200,204],"host":true,"path":"/healthz","x":{"a":1},"version":4}"#)
    }

    @Test func aCommandMonitorsArgvIsForAdminOnly() {
        let m = Monitor(name: "c", type: .command, options: ["command": #"["/bin/check","--token","s3cret"]"#])
        #expect(!Encode.monitor(m, version: 1, showCommand: false).text.contains(#""command":"#))
        #expect(Encode.monitor(m, version: 1, showCommand: true).text.contains(#""command":["/bin/check","--token","s3cret"]"#))
    }

    @Test func foundationsEncoderStillLeavesAbsentValuesOut() throws {
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        let text = String(decoding: try enc.encode(Site(name: "fra", capacity: 10)), as: UTF8.self)
        #expect(text == #"{"capacity":10,"name":"fra"}"#)
    }
}
