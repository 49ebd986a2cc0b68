// The second fuzz entry: the codec that reads `cairn apply` files (YAML) and the admin API's request
// bodies (JSON through JSONSerialization, then GSLBConfigFile's reader, as AdminController does).
//
// Input: [odd octet][selector octet][text...]. The selector picks the decoder (below). Invariants:
// nothing traps; a decode returns a value or at least one issue; a decoded value re-encodes (the
// object's `encode(to:)` through JSONEncoder, or `ConfigFile.encode` for a whole configuration) and
// decodes again to an equal value.

import Foundation
import GSLBConfigFile
import GSLBCore

enum FuzzBodies {
    /// What the selector octet chooses (selector % count).
    enum Target: Int, CaseIterable {
        case yamlConfig, jsonConfig, site, pool, member, monitor, topologyEntry, geoPoint, probeTarget, timeText
        /// The bodies of POST /v1/overrides, /v1/drills and /v1/tokens.
        case overrideRequest, drillRequest, tokenRequest
    }

    static func bodyViolated(_ what: String, _ target: Target, _ text: [UInt8]) -> Never {
        var msg = "CairnFuzz invariant violated (body decoder \(target)): \(what)\n"
        msg += "text (\(text.count)): \(String(decoding: text, as: UTF8.self).debugDescription)\n"
        eprint(msg)
        fatalError(what)
    }

    /// The value a decode returned, or nil; the problems of a failed decode must be non-empty and each must say something.
    static func decoded<T>(_ result: Result<T, [ConfigIssue]>, _ target: Target, _ text: [UInt8]) -> T? {
        switch result {
        case .success(let value): return value
        case .failure(let issues):
            if issues.isEmpty { bodyViolated("decode failed without an issue", target, text) }
            for i in issues where i.message.isEmpty { bodyViolated("an issue without a message at \"\(i.path)\"", target, text) }
            return nil
        }
    }

    /// One API-body object: JSON text → JSONSerialization → ConfigFile.decode(_:json:); on success, the value's
    /// own encoding (JSONEncoder, as `GET` answers and the CLI write it) decodes back to it.
    static func object<T: Codable & Equatable>(_ type: T.Type, _ target: Target, _ text: [UInt8]) {
        guard let json = try? JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed]) else { return }
        if let value = decoded(ConfigFile.decode(type, json: json), target, text) {
            let data: Data
            do { data = try JSONEncoder().encode(value) } catch {
                bodyViolated("decoded value does not encode: \(error)", target, text)
            }
            guard let again = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
                bodyViolated("encoded value is not JSON: \(String(decoding: data, as: UTF8.self))", target, text)
            }
            switch ConfigFile.decode(type, json: again) {
            case .success(let v2) where v2 == value: break
            case .success(let v2):
                bodyViolated("round trip changed the value: \(value) -> \(String(decoding: data, as: UTF8.self)) -> \(v2)",
                             target, text)
            case .failure(let issues):
                bodyViolated("re-encoded value does not decode: \(String(decoding: data, as: UTF8.self)) -> \(issues)",
                             target, text)
            }
        }
        // Any other decoder (the CLI reads API answers with JSONDecoder): must not trap.
        _ = try? JSONDecoder().decode(type, from: Data(text))
    }

    /// A request body that is only read (no encoding): a value or at least one issue, never a trap.
    static func request<T: Decodable>(_ type: T.Type, _ target: Target, _ text: [UInt8]) {
        guard let json = try? JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed]) else { return }
        _ = decoded(ConfigFile.decode(type, json: json), target, text)
    }

    /// A whole configuration decoded: the canonical text (`ConfigFile.encode`) reads back to it, and the
    /// validator (against the fuzz snapshot's zones) runs over it.
    static func config(_ c: GSLBConfig, _ target: Target, _ text: [UInt8]) {
        let yaml = ConfigFile.encode(c)
        switch ConfigFile.decode(yaml: yaml) {
        case .success(let c2) where c2 == c: break
        case .success(let c2):
            bodyViolated("ConfigFile.encode/decode changed the configuration:\n\(yaml)\nwas \(c)\nnow \(c2)", target, text)
        case .failure(let issues):
            bodyViolated("ConfigFile.encode wrote a file that does not read back:\n\(yaml)\nissues: \(issues)", target, text)
        }
        let snap = fuzzSnapshot
        _ = ConfigValidator.validate(c, zones: snap.origins, staticData: { snap.staticTypes(at: $0) },
                                     occluded: { snap.isOccluded($0) })
    }

    static func fuzz(_ body: UnsafeRawBufferPointer) {
        guard let sel = body.first else { return }
        let target = Target.allCases[Int(sel) % Target.allCases.count]
        let text = Array(body.dropFirst())
        switch target {
        case .yamlConfig:
            let s = String(decoding: text, as: UTF8.self)
            if let c = decoded(ConfigFile.decode(yaml: s), target, text) { config(c, target, text) }
            // The path of `cairn apply` and `PUT /v1/config`: shape and meaning together.
            let snap = fuzzSnapshot
            _ = decoded(ConfigFile.decode(yaml: s, zones: snap.origins, staticData: { snap.staticTypes(at: $0) },
                                          occluded: { snap.isOccluded($0) }), target, text)
        case .jsonConfig:
            guard let json = try? JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed]) else { return }
            if let c = decoded(ConfigFile.decode(GSLBConfig.self, json: json), target, text) { config(c, target, text) }
        case .site: object(Site.self, target, text)
        case .pool: object(Pool.self, target, text)
        case .member: object(Member.self, target, text)
        case .monitor: object(Monitor.self, target, text)
        case .topologyEntry: object(TopologyEntry.self, target, text)
        case .geoPoint: object(GeoPoint.self, target, text)
        case .probeTarget: object(ProbeTarget.self, target, text)
        case .overrideRequest: request(OverrideRequest.self, target, text)
        case .drillRequest: request(DrillRequest.self, target, text)
        case .tokenRequest: request(TokenRequest.self, target, text)
        case .timeText:
            // What the API's override, drill and token bodies parse their times and durations with.
            let s = String(decoding: text, as: UTF8.self)
            if let t = TimeSpan(s) { _ = t.wholeMilliseconds; if let sec = t.seconds { _ = TimeSpan.text(seconds: sec) } }
            if let t = RFC3339.parse(s) { _ = RFC3339.format(t) }
            _ = CIDR(s)
            _ = ClientAddress(text: s)
            _ = Fallback(text: s)
        }
    }

    // MARK: - Seeds

    static func seedTexts() -> [(Target, String)] {
        var out: [(Target, String)] = []
        out.append((.yamlConfig, exampleYAML))
        let c = FuzzPools.state().config
        out.append((.yamlConfig, ConfigFile.encode(GSLBConfig(sites: c.sites, pools: Array(c.pools.prefix(4)), topology: c.topology))))
        out.append((.yamlConfig, "{}"))
        out.append((.yamlConfig, "sites: []\npools:\n  - name: www.fuzz.example.\n    members: [{site: x, address: 192.0.2.1}]\n"))
        out.append((.yamlConfig, "pools: &a [*a]\n"))
        out.append((.yamlConfig, "monitors:\n  - name: web\n    type: http\n    port: 8080\n    interval: 500ms\n    timeout: 1s\n    rise: 2\n    fall: 3\n    quorum: majority\n    path: /health\n    expect_status: [200, 204]\n"))
        out.append((.jsonConfig, #"{"sites":[{"name":"fra","region":"eu","location":{"lat":50.1,"lon":8.6}}],"pools":[{"name":"p-closest.gslb.fuzz.example.","type":"AAAA","policy":"closest","members":[{"site":"fra","address":"2001:db8::1"}]}],"topology":[{"network":"2001:db8::/32","site":"fra"}],"monitors":[]}"#))
        out.append((.site, #"{"name":"fra","region":"eu","location":{"lat":50.11,"lon":8.68},"capacity":1000,"load":12.5}"#))
        out.append((.site, #"{"name":"x","location":{"lat":"50","lon":null}}"#))
        out.append((.pool, #"{"name":"www.fuzz.example.","type":"A","policy":"weighted","ttl":20,"answers":2,"ecs":false,"fallback":"pool:other.fuzz.example.","rto":"30s","monitor":"web","members":[{"site":"fra","address":"192.0.2.1","weight":60},{"site":"iad","address":"192.0.2.2","state":"drain","probe":{"address":"127.0.0.1","port":8080}}]}"#))
        out.append((.pool, #"{"name":"a.","policy":"consistent-hash","fallback":"servfail","members":[]}"#))
        out.append((.member, #"{"site":"fra","address":"2001:db8::1","weight":0,"priority":3,"state":"disabled","monitor":"m","load":0.5}"#))
        out.append((.monitor, #"{"name":"dns","type":"dns","port":53,"interval":"2s","timeout":"500ms","rise":1,"fall":1,"qname":"www.fuzz.example.","qtype":"A"}"#))
        out.append((.monitor, #"{"name":"tcp","type":"tcp","port":443,"quorum":"any"}"#))
        out.append((.topologyEntry, #"{"network":"198.51.100.128/25","site":"sin"}"#))
        out.append((.topologyEntry, #"{"network":"2001:db8:1::/48","region":"us","location":{"lat":1,"lon":2}}"#))
        out.append((.geoPoint, #"{"lat":-90,"lon":180.0}"#))
        out.append((.overrideRequest, #"{"scope":"site","target":"fra","state":"down","reason":"maintenance","expires_in":"2h"}"#))
        out.append((.overrideRequest, #"{"scope":"member","target":"www.fuzz.example./192.0.2.1","state":"drain","reason":"r","permanent":true}"#))
        out.append((.overrideRequest, #"{"scope":"pool","target":"p.","state":"up","reason":"r","expires_at":"2030-01-01T00:00:00Z","expires_in":"1m"}"#))
        out.append((.drillRequest, #"{"site":"fra","hold":"30s","mode":"probe","force":true,"at":"2031-05-01T02:00:00Z"}"#))
        out.append((.drillRequest, #"{"member":"www.fuzz.example./192.0.2.1","pool":"x.","hold":"0s"}"#))
        out.append((.tokenRequest, #"{"name":"ci","scope":"write","expires_in":"30d"}"#))
        out.append((.tokenRequest, #"{"name":"","scope":"root","expires_in":null}"#))
        out.append((.probeTarget, #"{"address":"::1","port":65535}"#))
        for t in ["30s", "500ms", "2h", "1d", "1.5m", "0s", "2026-12-01T02:00:00Z", "2026-12-01T02:00:00.123+02:00",
                  "10.0.0.0/8", "2001:db8::/129", "pool:x.", "servfail"] {
            out.append((.timeText, t))
        }
        // Override, drill and token bodies (AdminService): their times and durations go through timeText above.
        return out
    }

    static func seeds() -> [[UInt8]] {
        seedTexts().map { [1, UInt8($0.0.rawValue)] + Array($0.1.utf8) }
    }

    /// Words for the libFuzzer dictionary (escaped by the caller).
    static let dictionary = [
        "sites", "pools", "monitors", "topology", "name", "region", "location", "lat", "lon", "capacity", "load",
        "type", "policy", "ttl", "answers", "ecs", "fallback", "monitor", "rto", "members", "site", "address",
        "weight", "priority", "state", "probe", "port", "network", "interval", "timeout", "rise", "fall", "quorum",
        "options", "path", "expect_status", "qname", "qtype", "command", "failover", "weighted", "round-robin",
        "least-loaded", "closest", "all-healthy", "consistent-hash", "enabled", "drain", "disabled", "servfail",
        "pool:", "none", "all", "AAAA", "http", "https", "dns", "tcp", "majority", "any", "null", "true", "false",
        "500ms", "30s", "2026-12-01T02:00:00Z", "2001:db8::", "/48", "192.0.2.", "/24", "{\"", "\":", "\"}", "[{",
        "}]", ": ", "\n  - ", "{}", "[]", "~", "&a", "*a", "!!str", "---", "...",
    ]

    static let exampleYAML = """
        sites:
          - {name: fra, region: eu, location: {lat: 50.11, lon: 8.68}, capacity: 1000}
          - {name: iad, region: us, location: {lat: 38.95, lon: -77.45}, capacity: 1500}
          - {name: sin, region: ap, location: {lat: 1.35, lon: 103.82}, capacity: 500}
        pools:
          - name: p-closest.gslb.fuzz.example.
            type: A
            policy: closest
            ttl: 30
            members:
              - {site: fra, address: 192.0.2.101}
              - {site: iad, address: 198.51.100.101}
              - {site: sin, address: 203.0.113.101}
          - name: p-weighted.gslb.fuzz.example.
            type: A
            policy: weighted
            ttl: 20
            answers: 1
            ecs: false
            fallback: servfail
            rto: 30s
            members:
              - {site: fra, address: 192.0.2.102, weight: 60}
              - {site: iad, address: 198.51.100.102, weight: 30}
              - {site: sin, address: 203.0.113.102, weight: 10, state: drain}
        topology:
          - {network: 192.0.2.0/24, region: eu}
          - {network: "2001:db8:1::/48", region: us}
          - {network: 100.64.0.0/10, location: {lat: 48.86, lon: 2.35}}
        monitors: []

        """
}
