import Foundation
import GSLBCore
import Logging
@testable import CairnDaemon
import Testing

/// The local cache of a node on a shared store: what it saves reads back the same; a link or an oversized file is refused.
@Suite struct FileStateCacheTests {
    static func state() -> GSLBState {
        GSLBState(config: GSLBConfig(sites: [Site(name: "fra", region: "eu")],
                                     pools: [Pool(name: "www.example.com.", policy: .failover, monitor: "web",
                                                  members: [Member(site: "fra", address: "192.0.2.1")])],
                                     monitors: [Monitor(name: "web", type: .tcp, port: 80, quorum: .any)]),
                  health: [MemberHealth(key: MemberKey(pool: "www.example.com.", address: "192.0.2.1"), state: .down, since: 7, load: 3)],
                  overrides: [Override(id: 4, scope: .site, target: "fra", state: .down, reason: "r", principal: "p",
                                       expiresAt: nil, createdAt: 5)])
    }

    func directory() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-cache-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    func waitForFile(_ path: String) {
        let deadline = Date().addingTimeInterval(5)
        while !FileManager.default.fileExists(atPath: path) && Date() < deadline { usleep(10_000) }
    }

    @Test func whatIsSavedReadsBackTheSameAndIs0600() throws {
        let d = try directory()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let cache = FileStateCache(path: d + "/c.json", logger: Logger(label: "t"))
        cache.save(Self.state())
        waitForFile(d + "/c.json")
        let loaded = try #require(cache.load())
        #expect(loaded.state == Self.state())
        let mode = try FileManager.default.attributesOfItem(atPath: d + "/c.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func aLinkAtThePathIsNotFollowed() throws {
        let d = try directory()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let real = FileStateCache(path: d + "/real.json", logger: Logger(label: "t"))
        real.save(Self.state())
        waitForFile(d + "/real.json")
        try FileManager.default.createSymbolicLink(atPath: d + "/link.json", withDestinationPath: d + "/real.json")
        #expect(FileStateCache(path: d + "/link.json", logger: Logger(label: "t")).load() == nil)
        #expect(FileStateCache(path: d + "/missing.json", logger: Logger(label: "t")).load() == nil)
    }
}
