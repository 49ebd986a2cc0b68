import Foundation
import GSLBCore
import GSLBStore
import Logging
@testable import CairnDaemon
import Testing

/// The retention service prunes at start and then every `interval` (hourly in the daemon), on a real SQLite file.
@Suite struct HealthHistoryRetentionServiceTests {
    static let key = MemberKey(pool: "www.example.com.", address: "192.0.2.1")
    static let day = 86_400.0

    /// The history's times once they are `want`, or as they are after 60 s (a bound, not a measure). Waits without
    /// holding a thread of the cooperative pool, which the service runs on (2 of them on a 2-core machine).
    static func history(_ store: Store, becomes want: [Double]) async throws -> [Double] {
        let deadline = Date().addingTimeInterval(60)
        var times = try store.healthHistory(key).map(\.since)
        while times != want && Date() < deadline {
            try await Task.sleep(nanoseconds: 20_000_000)
            times = try store.healthHistory(key).map(\.since)
        }
        return times
    }

    @Test func aRowOlderThanTheRetentionWrittenWhileRunningGoesAtALaterRound() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-retention-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Store(location: .sqlite(path: dir.appendingPathComponent("cairn.sqlite").path))
        defer { store.close() }
        let now = Date().timeIntervalSince1970
        try store.recordHealth(MemberHealth(key: Self.key, state: .up, since: now - 2 * Self.day))

        let service = HealthHistoryRetentionService(store: store, retention: Self.day, interval: 0.05, logger: Logger(label: "test"))
        let task = Task { try await service.run() }
        // At start.
        #expect(try await Self.history(store, becomes: []) == [])
        // Later: a young row and an old one written after the first round; the old one goes, the young one stays.
        try store.recordHealth(MemberHealth(key: Self.key, state: .down, since: now))
        try store.recordHealth(MemberHealth(key: Self.key, state: .up, since: now - 3 * Self.day))
        #expect(try await Self.history(store, becomes: [now]) == [now])
        task.cancel()
        try await task.value
    }
}
