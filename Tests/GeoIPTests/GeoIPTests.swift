import Foundation
import GeoIP
import GSLBCore
import Testing

/// Writes `.mmdb` files with scripts/lib/mmdb_writer.py from a readable fixture (never downloaded).
enum MMDBFixture {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func tempDir() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-geoip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d.path
    }

    /// `networks`: (CIDR, record as JSON text).
    static func write(_ path: String, networks: [(String, String)], recordSize: Int = 28, ipVersion: Int = 6,
                      type: String = "GeoIP2-City") throws {
        let nets = networks.map { "{\"network\": \"\($0.0)\", \"data\": \($0.1)}" }.joined(separator: ",\n")
        let fixture = "{\"ip_version\": \(ipVersion), \"record_size\": \(recordSize), \"database_type\": \"\(type)\", \"networks\": [\(nets)]}"
        let json = path + ".json"
        try fixture.write(toFile: json, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", packageRoot.appendingPathComponent("scripts/lib/mmdb_writer.py").path, json, path]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    static func city(_ continent: String, _ country: String, _ subdivision: String? = nil, lat: Double? = nil, lon: Double? = nil) -> String {
        var s = "{\"continent\": {\"code\": \"\(continent)\", \"names\": {\"en\": \"x\", \"de\": \"y\"}}, \"country\": {\"iso_code\": \"\(country)\", \"geoname_id\": 1}"
        if let subdivision { s += ", \"subdivisions\": [{\"iso_code\": \"\(subdivision)\"}]" }
        if let lat, let lon { s += ", \"location\": {\"latitude\": \(lat), \"longitude\": \(lon), \"accuracy_radius\": {\"$uint16\": 20}}" }
        return s + "}"
    }
}

@Suite struct GeoIPLookupTests {
    @Test(arguments: [24, 28, 32])
    func readsTheRecordOfEachNetworkWithItsPrefix(recordSize: Int) throws {
        let dir = try MMDBFixture.tempDir()
        let path = dir + "/city.mmdb"
        try MMDBFixture.write(path, networks: [
            ("81.2.69.0/24", MMDBFixture.city("EU", "GB", "ENG", lat: 51.5142, lon: -0.0931)),
            ("10.0.0.0/8", MMDBFixture.city("NA", "US", "CA")),
            ("2001:db8:5::/48", MMDBFixture.city("AS", "SG", lat: 1.35, lon: 103.8)),
        ], recordSize: recordSize)
        let db = try MaxMindDatabase(path: path)
        let gb = db.lookup(ClientAddress(text: "81.2.69.160")!)
        #expect(gb.found && gb.prefix == 24)
        #expect(gb.continentCode == "EU" && gb.countryCode == "GB" && gb.subdivisionCode == "GB-ENG")
        #expect(gb.location == GeoPoint(lat: 51.5142, lon: -0.0931))
        let us = db.lookup(ClientAddress(text: "10.200.1.1")!)
        #expect(us.found && us.prefix == 8 && us.subdivisionCode == "US-CA" && us.location == nil)
        let sg = db.lookup(ClientAddress(text: "2001:db8:5:1::7")!)
        #expect(sg.found && sg.prefix == 48 && sg.countryCode == "SG")
        let none = db.lookup(ClientAddress(text: "192.0.2.1")!)
        #expect(!none.found && none.countryCode == nil)
        #expect(db.summary.contains("GeoIP2-City"))
    }

    @Test func anIPv4DatabaseAnswersIPv6ClientsNotFound() throws {
        let dir = try MMDBFixture.tempDir()
        let path = dir + "/country.mmdb"
        try MMDBFixture.write(path, networks: [("198.51.100.0/24", MMDBFixture.city("NA", "US"))], ipVersion: 4, type: "GeoLite2-Country")
        let db = try MaxMindDatabase(path: path)
        #expect(db.lookup(ClientAddress(text: "198.51.100.9")!).countryCode == "US")
        #expect(db.lookup(ClientAddress(text: "198.51.100.9")!).prefix == 24)
        #expect(!db.lookup(ClientAddress(text: "2001:db8::1")!).found)
    }

    @Test func aFileThatIsNotAMaxMindDatabaseIsRefusedByName() throws {
        let dir = try MMDBFixture.tempDir()
        try "not a database".write(toFile: dir + "/bad.mmdb", atomically: true, encoding: .utf8)
        #expect(throws: MaxMindDatabase.Error.self) { try MaxMindDatabase(path: dir + "/bad.mmdb") }
        do { _ = try MaxMindDatabase(path: dir + "/bad.mmdb") } catch { #expect("\(error)".contains("bad.mmdb")) }
        do { _ = try MaxMindDatabase(path: dir + "/missing.mmdb") } catch { #expect("\(error)".contains("No such file")) }
    }

    @Test func aDatabaseOverTheSizeLimitIsRefused() throws {
        let dir = try MMDBFixture.tempDir()
        try MMDBFixture.write(dir + "/c.mmdb", networks: [("10.0.0.0/8", MMDBFixture.city("NA", "US"))])
        do {
            _ = try MaxMindDatabase(path: dir + "/c.mmdb", maxBytes: 100)
            Issue.record("opened a file over the limit")
        } catch { #expect("\(error)".contains("at most 100 bytes")) }
    }
}

@Suite struct GeoDatabaseSourceTests {
    @Test func aReplacedFileIsOpenedAgainAndABadOneKeepsTheLastGood() throws {
        let dir = try MMDBFixture.tempDir()
        let path = dir + "/geo.mmdb"
        try MMDBFixture.write(path, networks: [("10.0.0.0/8", MMDBFixture.city("NA", "US"))])
        let source = GeoDatabaseSource(directory: dir)
        let config = GeoIPConfig(database: "geo.mmdb")
        let first = try #require(source.database(for: config))
        #expect(source.database(for: config) == first)   // unchanged file: same database
        #expect(first.database.lookup(ClientAddress(text: "10.1.1.1")!).countryCode == "US")

        // Atomic replace (the writer renames its temporary file over the old one).
        try MMDBFixture.write(path, networks: [("10.0.0.0/8", MMDBFixture.city("EU", "DE"))])
        let second = try #require(source.database(for: config))
        #expect(second != first)
        #expect(second.database.lookup(ClientAddress(text: "10.1.1.1")!).countryCode == "DE")
        // The old database stays usable while something refers to it.
        #expect(first.database.lookup(ClientAddress(text: "10.1.1.1")!).countryCode == "US")

        // A broken file: the last good one keeps serving, the error names the file.
        try "garbage".write(toFile: dir + "/tmp", atomically: false, encoding: .utf8)
        #expect(rename(dir + "/tmp", path) == 0)
        #expect(source.database(for: config) == second)
        #expect(source.lastError?.contains("geo.mmdb") == true)
        // Removed: still the last good one.
        unlink(path)
        #expect(source.database(for: config) == second)
        // No geoip section: none.
        #expect(source.database(for: nil) == nil)
    }

    @Test func aDatabaseOutsideTheDirectoryIsRefused() throws {
        let dir = try MMDBFixture.tempDir()
        let other = try MMDBFixture.tempDir()
        try MMDBFixture.write(other + "/geo.mmdb", networks: [("10.0.0.0/8", MMDBFixture.city("NA", "US"))])
        symlink(other + "/geo.mmdb", dir + "/link.mmdb")
        let source = GeoDatabaseSource(directory: dir)
        #expect(source.database(for: GeoIPConfig(database: other + "/geo.mmdb")) == nil)
        #expect(source.lastError?.contains("outside the GeoIP directory") == true)
        #expect(source.database(for: GeoIPConfig(database: "link.mmdb")) == nil)
        #expect(source.database(for: GeoIPConfig(database: "../" + URL(fileURLWithPath: other).lastPathComponent + "/geo.mmdb")) == nil)
    }
}
