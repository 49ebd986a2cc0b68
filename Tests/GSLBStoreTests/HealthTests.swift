import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
@Suite struct HealthTests {
    @Test(arguments: Backend.allCases) func recordHealthWritesHistoryOnlyWhenTheStateChanges(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        try store.replaceConfig(fullConfig(), principal: "ci", source: "apply", prune: false)
        let key = MemberKey(pool: "www.example.com.", address: "192.0.2.10")
        try store.recordHealth(MemberHealth(key: key, state: .up, since: 10))
        let token = try store.changeToken()
        try store.recordHealth(MemberHealth(key: key, state: .up, since: 11))      // same state: nothing written
        #expect(try store.changeToken() == token)
        try store.recordHealth(MemberHealth(key: key, state: .down, since: 12))
        try store.recordHealth(MemberHealth(key: key, state: .down, since: 13))
        try store.recordHealth(MemberHealth(key: key, state: .up, since: 14))

        #expect(try store.healthHistory(key).map(\.state) == [.up, .down, .up])
        #expect(try store.healthHistory(key).map(\.since) == [10, 12, 14])
        #expect(try store.healthHistory(key, limit: 2).map(\.since) == [12, 14])
        #expect(try store.loadState().health == [MemberHealth(key: key, state: .up, since: 14)])
        #expect(try store.pruneHealthHistory(before: 13) == 2)
        #expect(try store.healthHistory(key).map(\.since) == [14])
    }

    @Test(arguments: Backend.allCases) func pruningInBatchesDeletesEveryOlderRowAndNoOther(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let key = MemberKey(pool: "www.example.com.", address: "192.0.2.10")
        for t in 1...9 { try store.recordHealth(MemberHealth(key: key, state: t % 2 == 0 ? .down : .up, since: Double(t))) }
        let token = try store.changeToken()
        // 7 rows older than 8, in batches of 3: 3 + 3 + 1.
        #expect(try store.pruneHealthHistory(before: 8, batch: 3) == 7)
        #expect(try store.healthHistory(key).map(\.since) == [8, 9])
        #expect(try store.pruneHealthHistory(before: 8, batch: 3) == 0)
        // Not announced: on PostgreSQL the other nodes do not rebuild for it (SQLite's data_version moves for any commit).
        if backend == .postgres { #expect(try store.changeToken() == token) }
    }

    @Test(arguments: Backend.allCases) func aProbeRoundIsRecordedInOneCall(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let states = (1...50).map { MemberHealth(key: MemberKey(pool: "p.example.", address: "192.0.2.\($0)"), state: .down, since: 1) }
        try store.recordHealth(contentsOf: states)
        #expect(try store.loadState().health.count == 50)
    }
}
}
