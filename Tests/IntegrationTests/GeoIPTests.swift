import DNSWire
import Foundation
import Synchronization
import Testing

/// GeoIP topology end to end: a `.mmdb` written by scripts/lib/mmdb_writer.py from a readable fixture,
/// `cairn apply` of a file with `geoip:`, a real `cairn serve` answering real DNS queries.
@Suite(.serialized) struct GeoIPIntegrationTests {
    /// 127/8 (the tests' own address) is in the US; 100.64/16 in Singapore; 100.65.0/20 in Auckland with
    /// coordinates and no map entry; 203.0.113/24 in Singapore too, but a topology entry says eu.
    static func networks() -> [(String, String)] {
        [("127.0.0.0/8", record("NA", "US")),
         ("100.64.0.0/16", record("AS", "SG")),
         ("100.65.0.0/20", record("OC", "NZ", lat: -36.85, lon: 174.76)),
         ("203.0.113.0/24", record("AS", "SG"))]
    }

    static func record(_ continent: String, _ country: String, lat: Double? = nil, lon: Double? = nil) -> String {
        var s = "{\"continent\": {\"code\": \"\(continent)\"}, \"country\": {\"iso_code\": \"\(country)\", \"names\": {\"en\": \"\(country)\"}}"
        if let lat, let lon { s += ", \"location\": {\"latitude\": \(lat), \"longitude\": \(lon), \"accuracy_radius\": {\"$uint16\": 50}}" }
        return s + "}"
    }

    /// Writes `path` with the writer (to `path.tmp`, then renamed over it: an atomic replace).
    static func writeDatabase(_ path: String, _ networks: [(String, String)]) throws {
        let fixture = "{\"ip_version\": 6, \"record_size\": 28, \"database_type\": \"GeoIP2-City\", \"networks\": ["
            + networks.map { "{\"network\": \"\($0.0)\", \"data\": \($0.1)}" }.joined(separator: ", ") + "]}"
        try fixture.write(toFile: path + ".json", atomically: true, encoding: .utf8)
        let (rc, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", Paths.fixture("scripts/lib/mmdb_writer.py").path, path + ".json", path])
        #expect(rc == 0, "\(out)")
    }

    static let config = """
        sites:
          - {name: fra, region: eu, location: {lat: 50.11, lon: 8.68}}
          - {name: iad, region: us, location: {lat: 38.95, lon: -77.45}}
          - {name: sin, region: ap, location: {lat: 1.35, lon: 103.82}}
        pools:
          - name: www.gslb.test.
            type: A
            policy: closest
            members:
              - {site: fra, address: 192.0.2.10}
              - {site: iad, address: 198.51.100.10}
              - {site: sin, address: 203.0.113.10}
        topology:
          - {network: 203.0.113.0/24, region: eu}
        geoip:
          database: city.mmdb
          map:
            - {country: US, region: us}
            - {country: SG, site: sin}
            - {continent: EU, region: eu}
        """

    struct Setup {
        let env: GSLBTests.Env
        let geoDir: String
        var database: String { geoDir + "/city.mmdb" }
        let server: CairnProcess
    }

    static func start(writeDatabase: Bool = true) throws -> Setup {
        let env = try GSLBTests.makeEnv()
        let geoDir = env.dir.appendingPathComponent("geoip").path
        try FileManager.default.createDirectory(atPath: geoDir, withIntermediateDirectories: true)
        if writeDatabase { try Self.writeDatabase(geoDir + "/city.mmdb", networks()) }
        let f = try env.file("gslb.yaml", config)
        let (rc, out) = try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones])
        #expect(rc == 0, "\(out)")
        let server = try CairnProcess(["serve", "--zones", env.zones, "--db", env.db, "--dns", "127.0.0.1:0",
                                       "--geoip-dir", geoDir, "--store-check-interval", "100ms",
                                       // Response rate limiting off: the swap test sends queries without pause from one address.
                                       "--rrl-ratelimit", "0"])
        return Setup(env: env, geoDir: geoDir, server: server)
    }

    static func ask(_ port: Int, ecs: ([UInt8], UInt8)? = nil) throws -> (answer: [String], scope: Int?) {
        let m = try DNSClient.udp("www.gslb.test.", .a, port: port, edns: (1232, false),
                                  options: ecs.map { GSLBTests.ecs($0.0, $0.1) } ?? [])
        return (GSLBTests.addresses(m), m.ednsOptions.first { $0.code == 8 }.map { Int($0.data[3]) })
    }

    @Test func theDatabaseDecidesAfterTheEntriesWithAndWithoutECS() throws {
        let s = try Self.start()
        defer { s.server.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        // No ECS: 127.0.0.1 is in the US → region us → iad (the base order would give fra).
        #expect(try Self.ask(s.server.port).answer == ["198.51.100.10"])
        // ECS in Singapore → site sin; the scope is the database network's prefix.
        let sg = try Self.ask(s.server.port, ecs: ([100, 64, 9, 0], 24))
        #expect(sg.answer == ["203.0.113.10"] && sg.scope == 24)
        // The entry 203.0.113.0/24 → eu wins over the database's SG; scope 24 (the entry).
        let entry = try Self.ask(s.server.port, ecs: ([203, 0, 113, 0], 24))
        #expect(entry.answer == ["192.0.2.10"] && entry.scope == 24)
        // Auckland: no map entry, the City coordinates → the nearest site, sin; scope /20 (the database network).
        let nz = try Self.ask(s.server.port, ecs: ([100, 65, 0, 0], 24))
        #expect(nz.answer == ["203.0.113.10"] && nz.scope == 24)
        let nz16 = try Self.ask(s.server.port, ecs: ([100, 65, 0, 0], 16))
        #expect(nz16.scope == 16)
        // A source /8 shorter than the database network: the scope is the source.
        #expect(try Self.ask(s.server.port, ecs: ([100, 0, 0, 0], 8)).scope == 8)
    }

    @Test func theECSScopeIsTheDatabasePrefixWithoutLongerEntries() throws {
        let s = try Self.start()
        defer { s.server.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        // 100.64.0.0/16 in the database, the only entry a /24: the scope is max(16, 24) clipped to the source.
        #expect(try Self.ask(s.server.port, ecs: ([100, 64, 9, 128], 25)).scope == 24)
        // Remove the entry (prune): the scope is the database's /16.
        let f = try s.env.file("g2.yaml", Self.config.replacingOccurrences(of: "  - {network: 203.0.113.0/24, region: eu}\n", with: ""))
        let (rc, out) = try CairnProcess.run(["apply", "-f", f, "--db", s.env.db, "--zones", s.env.zones])
        #expect(rc == 0, "\(out)")
        let deadline = Date().addingTimeInterval(5)
        var scope: Int?
        repeat { scope = try Self.ask(s.server.port, ecs: ([100, 64, 9, 128], 25)).scope; usleep(50_000) } while scope != 16 && Date() < deadline
        #expect(scope == 16)
        #expect(try Self.ask(s.server.port, ecs: ([100, 65, 0, 0], 24)).scope == 20)
    }

    @Test func explainShowsTheRecordUsedLocallyAndThroughTheAPI() throws {
        let s = try Self.start()
        defer { s.server.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        let args = ["explain", "www.gslb.test", "--client", "192.0.2.1", "--ecs", "100.64.9.0/24"]
        let (rc, local) = try CairnProcess.run(args + ["--db", s.env.db, "--zones", s.env.zones, "--geoip-dir", s.geoDir])
        #expect(rc == 0, "\(local)")
        #expect(local.contains("geoip: 100.64.0.0/16 continent=AS country=SG  [\(s.database): GeoIP2-City, IPv6, built "), "\(local)")
        #expect(local.contains("topology: geoip country SG → site sin (prefix /16)"), "\(local)")
        #expect(local.contains("* 203.0.113.10 site=sin"), "\(local)")
        let nz = try CairnProcess.run(["explain", "www.gslb.test", "--client", "100.65.0.1", "--db", s.env.db, "--zones", s.env.zones,
                                       "--geoip-dir", s.geoDir, "--json"]).1
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(nz.utf8)) as? [String: Any])
        let geo = try #require(doc["geoip"] as? [String: Any])
        #expect(geo["network"] as? String == "100.65.0.0/20" && geo["country"] as? String == "NZ" && geo["used"] as? Bool == true)
        #expect((geo["location"] as? [String: Double])?["lat"] == -36.85)
        // The running server explains the same way.
        let token = try APIServer.token(scope: "read", db: s.env.db)
        let r = try http("GET", s.server.apiBase + "/v1/explain?name=www.gslb.test.&client=192.0.2.1&ecs=100.64.9.0/24",
                         headers: ["Authorization": "Bearer \(token)"])
        #expect(r.status == 200)
        let api = try #require(try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
        #expect((api["geoip"] as? [String: Any])?["country"] as? String == "SG")
        #expect(api["topology_match"] as? String == "geoip country SG → site sin (prefix /16)")
    }

    @Test func aReplacedDatabaseAnswersWithoutLosingQueriesAndABadOneKeepsTheLastGood() throws {
        let s = try Self.start()
        defer { s.server.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        #expect(try Self.ask(s.server.port).answer == ["198.51.100.10"])
        // Query without pause (bounded: 20 s, 20,000 queries) while the file is replaced.
        let stop = Atomic<Bool>(false)
        let counts = Mutex<(sent: Int, lost: Int, answers: Set<String>)>((0, 0, []))
        let port = s.server.port
        let t = Thread {
            let deadline = Date().addingTimeInterval(20)
            var n = 0
            while !stop.load(ordering: .relaxed) && Date() < deadline && n < 20_000 {
                n += 1
                let a = try? Self.ask(port)
                counts.withLock { c in
                    c.sent += 1
                    if let a { c.answers.insert(a.answer.joined(separator: ",")) } else { c.lost += 1 }
                }
            }
        }
        t.start()
        usleep(200_000)
        // 127/8 moves to Germany: continent EU → region eu → fra.
        try Self.writeDatabase(s.database, Self.networks().map { $0.0 == "127.0.0.0/8" ? ($0.0, Self.record("EU", "DE")) : $0 })
        let written = Date()
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && (try? Self.ask(port).answer) != ["192.0.2.10"] { usleep(50_000) }
        let seen = Date()
        usleep(300_000)
        stop.store(true, ordering: .relaxed)
        while !t.isFinished { usleep(10_000) }
        let c = counts.withLock { $0 }
        #expect(c.sent > 10 && c.lost == 0, "\(c)")
        #expect(c.answers == ["198.51.100.10", "192.0.2.10"], "\(c.answers) written \(written) seen \(seen)")
        #expect(s.server.stderr.value.contains("geoip database opened"))

        // A broken file replaces it: the server keeps the last good database and says why.
        let tmp = s.geoDir + "/broken.tmp"
        try "not a database".write(toFile: tmp, atomically: false, encoding: .utf8)
        #expect(rename(tmp, s.database) == 0)
        let logDeadline = Date().addingTimeInterval(5)
        while Date() < logDeadline && !s.server.stderr.value.contains("geoip database not opened") { usleep(50_000) }
        #expect(s.server.stderr.value.contains("geoip database not opened, still serving \(s.database) as opened before: \(s.database): not a usable MaxMind DB file"),
                "\(s.server.stderr.value)")
        #expect(try Self.ask(port).answer == ["192.0.2.10"])
        // Removed: still the last good one.
        unlink(s.database)
        usleep(400_000)
        #expect(try Self.ask(port).answer == ["192.0.2.10"])
    }

    @Test func aMissingDatabaseAtStartIsNamedAndGeoIPWaitsForIt() throws {
        let s = try Self.start(writeDatabase: false)
        defer { s.server.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        #expect(s.server.stderr.value.contains("geoip database not opened, GeoIP not used until it opens: \(s.database)"), "\(s.server.stderr.value)")
        #expect(try Self.ask(s.server.port).answer == ["192.0.2.10"])   // base order
        try Self.writeDatabase(s.database, Self.networks())
        let deadline = Date().addingTimeInterval(5)
        var answer: [String] = []
        repeat { answer = try Self.ask(s.server.port).answer; usleep(50_000) } while answer != ["198.51.100.10"] && Date() < deadline
        #expect(answer == ["198.51.100.10"])
    }

    @Test func exportWritesTheGeoIPSectionAndApplyingItChangesNothing() throws {
        let env = try GSLBTests.makeEnv()
        defer { try? FileManager.default.removeItem(at: env.dir) }
        let f = try env.file("gslb.yaml", Self.config)
        #expect(try CairnProcess.run(["apply", "-f", f, "--db", env.db, "--zones", env.zones]).0 == 0)
        let (rc, exported) = try CairnProcess.run(["export", "--db", env.db])
        #expect(rc == 0)
        #expect(exported.contains("geoip:\n  database: city.mmdb\n  map:\n    - {country: US, region: us}\n"), "\(exported)")
        let again = try env.file("again.yaml", exported)
        let (rc2, out2) = try CairnProcess.run(["apply", "-f", again, "--db", env.db, "--zones", env.zones, "--dry-run"])
        #expect(rc2 == 0 && out2.contains("no changes"), "\(out2)")
    }
}
