import Foundation
import GSLBCore
import GSLBStore
import TestPostgres
import Testing

/// The real `cairn serve` on a real SQLite file keeps the store's `health_history` (one row per member transition)
/// within `--health-history-retention`: older rows are deleted at start (and hourly), younger ones stay.
@Suite struct HealthHistoryRetentionTests {
    static let zones = Paths.fixture("Tests/conformance/zones").path
    static let key = MemberKey(pool: "www.conf.example.", address: "192.0.2.20")
    static let hour = 3600.0
    static let day = 86_400.0

    /// A new SQLite store whose history holds one transition (up, down, up, …) at each of `ages` (seconds before now,
    /// oldest first), written by the store's own `recordHealth`; the file and the transitions' times.
    static func storeWithHistory(ages: [Double]) throws -> (db: String, times: [Double]) {
        let db = try Paths.tempDir().appendingPathComponent("cairn.sqlite").path
        return (db, try writeHistory(ages: ages, to: .sqlite(path: db)))
    }

    /// `storeWithHistory` on any store: the transitions' times.
    static func writeHistory(ages: [Double], to location: StoreLocation, environment: [String: String] = [:]) throws -> [Double] {
        let store = try Store(location: location, environment: environment)
        defer { store.close() }
        let now = Date().timeIntervalSince1970
        let times = ages.map { now - $0 }
        for (i, t) in times.enumerated() {
            try store.recordHealth(MemberHealth(key: key, state: i % 2 == 0 ? .up : .down, since: t))
        }
        #expect(try store.healthHistory(key).map(\.since) == times)
        return times
    }

    /// The history's times once it holds `count` rows, or as it is after 20 s (a bound, not a measure).
    static func history(_ db: String, untilCount count: Int) throws -> [Double] {
        try history(.sqlite(path: db), untilCount: count)
    }

    static func history(_ location: StoreLocation, environment: [String: String] = [:], untilCount count: Int) throws -> [Double] {
        let store = try Store(location: location, environment: environment)
        defer { store.close() }
        let deadline = Date().addingTimeInterval(20)
        var times = try store.healthHistory(key).map(\.since)
        while times.count != count && Date() < deadline {
            usleep(50_000)
            times = try store.healthHistory(key).map(\.since)
        }
        return times
    }

    @Test func historyOlderThanThirtyDaysIsPrunedAtStartByDefault() throws {
        let (db, times) = try Self.storeWithHistory(ages: [40 * Self.day, 31 * Self.day, 29 * Self.day, Self.hour])
        let server = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--db", db])
        let left = try Self.history(db, untilCount: 2)
        #expect(left == Array(times.suffix(2)), "\(left.count) of \(times.count) rows left")
        #expect(ZoneReloadTests.waitForLog(server, "event=health.history_pruned", count: 1), "\(server.stderr.value)")
        #expect(server.stderr.value.contains("health history: 2 rows older than 720h pruned"), "\(server.stderr.value)")
    }

    @Test func retentionFlagSetsHowOldARowMayGet() throws {
        let (db, times) = try Self.storeWithHistory(ages: [3 * Self.day, Self.day, 6 * Self.hour, 60])
        let server = try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--db", db,
                                       "--health-history-retention", "12h"])
        let left = try Self.history(db, untilCount: 2)
        #expect(left == Array(times.suffix(2)), "\(left.count) of \(times.count) rows left")
        #expect(ZoneReloadTests.waitForLog(server, "health history: 2 rows older than 12h pruned", count: 1), "\(server.stderr.value)")
    }

    /// Two nodes on one PostgreSQL store both prune at start: the old rows go (each deleted once), the young ones
    /// stay, and neither node fails.
    @Test func twoNodesOnOnePostgreSQLStorePruneTheSharedHistory() throws {
        let pg = try TestPostgres.shared()
        let url = try pg.makeDatabase()
        let times = try Self.writeHistory(ages: [50 * Self.day, 40 * Self.day, 31 * Self.day, 2 * Self.day, 60],
                                          to: try StoreLocation(url), environment: pg.environment)
        let nodes = try ["a", "b"].map { name in
            try CairnProcess(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--store", url, "--node-name", name],
                             environment: pg.environment)
        }
        let left = try Self.history(try StoreLocation(url), environment: pg.environment, untilCount: 2)
        #expect(left == Array(times.suffix(2)), "\(left.count) of \(times.count) rows left")
        #expect(nodes.contains { ZoneReloadTests.waitForLog($0, "event=health.history_pruned", count: 1) })
        for n in nodes { #expect(!n.stderr.value.contains("health.history_prune_failed"), "\(n.stderr.value)") }
    }

    @Test func retentionOutsideItsBoundsIsRefused() throws {
        for bad in ["10m", "3651d", "forever", "0"] {
            let (status, out) = try CairnProcess.run(["serve", "--zones", Self.zones, "--dns", "127.0.0.1:0", "--api", "",
                                                      "--db", try Paths.tempDir().appendingPathComponent("c.sqlite").path,
                                                      "--health-history-retention", bad])
            #expect(status != 0)
            #expect(out.contains("--health-history-retention: expected a duration from 1h to 87600h"), "\(bad): \(out)")
        }
    }
}
