import DNSWire
import GSLBCore
import SnapshotService
import Synchronization
import Testing

/// The publisher builds the zone index only when the zones are loaded: a configuration change
/// (the store's change token moved) or a health change builds a snapshot around the same index.
@Suite struct SnapshotPublisherTests {
    static let origin = try! DomainName("pub.test.")

    /// One zone; every load is counted.
    final class CountingZones: ZoneSource {
        let loads = Atomic<Int>(0)
        func loadZones() -> ZoneLoadResult {
            loads.add(1, ordering: .relaxed)
            let o = SnapshotPublisherTests.origin
            let soa = ResourceRecord(name: o, type: .soa, ttl: 3600,
                                     rdata: (try! DomainName("ns.pub.test.")).wire + (try! DomainName("hostmaster.pub.test.")).wire
                                         + [0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 2, 88, 0, 9, 58, 128, 0, 0, 0, 60])
            return ZoneLoadResult(zones: [ZoneContent(origin: o, records: [
                soa,
                ResourceRecord(name: o, type: .ns, ttl: 3600, rdata: (try! DomainName("ns.pub.test.")).wire),
                ResourceRecord(name: try! DomainName("ns.pub.test."), type: .a, ttl: 3600, rdata: [192, 0, 2, 53]),
            ], source: "memory")], failures: [])
        }
    }

    /// A store whose state the test sets; every set moves the change token, as a commit does.
    final class Store: ConfigRepository {
        let state: Mutex<(GSLBState, Int64)>
        init(_ s: GSLBState) { state = Mutex((s, 1)) }
        func set(_ s: GSLBState) { state.withLock { $0 = (s, $0.1 + 1) } }
        func loadState() throws -> GSLBState { state.withLock { $0.0 } }
        func replaceConfig(_ config: GSLBConfig, principal: String, source: String, prune: Bool) throws -> [AuditEntry] { [] }
        func recordHealth(_ h: MemberHealth) throws {}
        func changeToken() throws -> Int64 { state.withLock { $0.1 } }
    }

    static func config(weight: Int, extraPool: Bool = false) -> GSLBState {
        var pools = [Pool(name: "www.pub.test.", policy: .weighted, members: [
            Member(site: "fra", address: "192.0.2.1", weight: weight),
            Member(site: "fra", address: "192.0.2.2", weight: 100),
        ])]
        if extraPool { pools.append(Pool(name: "api.v1.pub.test.", policy: .failover, members: [Member(site: "fra", address: "192.0.2.3")])) }
        return GSLBState(config: GSLBConfig(sites: [Site(name: "fra")], pools: pools))
    }

    @Test func theZoneIndexIsSharedAcrossConfigAndHealthChangesAndRebuiltOnReload() throws {
        let zones = CountingZones()
        let store = Store(Self.config(weight: 100))
        let publisher = SnapshotPublisher(source: zones, repository: store)
        publisher.reload()
        let first = publisher.box.load()
        #expect(zones.loads.load(ordering: .relaxed) == 1)

        // A weight change: the pool is rebuilt in place (an incremental rebuild), the index is the same object.
        store.set(Self.config(weight: 50))
        #expect(publisher.refreshIfChanged())
        let weight = publisher.box.load()
        #expect(weight.generation == first.generation + 1)
        #expect(weight.zoneIndex === first.zoneIndex)
        #expect(weight.pools[0].pool.members[0].weight == 50)

        // A new pool (a new name and an empty non-terminal): still the same index.
        store.set(Self.config(weight: 50, extraPool: true))
        #expect(publisher.refreshIfChanged())
        let added = publisher.box.load()
        #expect(added.zoneIndex === first.zoneIndex)
        #expect(added.pool(name: try DomainName("api.v1.pub.test."), type: .a) != nil)
        #expect(added.node(for: try DomainName("v1.pub.test.")) != nil)
        #expect(added.nameCount == first.nameCount + 2)

        // A health change: only the pool, same index.
        publisher.applyHealth([MemberHealth(key: MemberKey(pool: "www.pub.test.", address: "192.0.2.1"), state: .down, since: 1)])
        publisher.flushHealth()
        let health = publisher.box.load()
        #expect(health.generation == added.generation + 1)
        #expect(health.zoneIndex === first.zoneIndex)

        // The pool removed again: its names go, the index stays.
        store.set(Self.config(weight: 50))
        #expect(publisher.refreshIfChanged())
        let removed = publisher.box.load()
        #expect(removed.zoneIndex === first.zoneIndex)
        #expect(removed.node(for: try DomainName("v1.pub.test.")) == nil)
        #expect(removed.nameCount == first.nameCount)
        #expect(zones.loads.load(ordering: .relaxed) == 1)

        let stats = publisher.stats
        #expect(stats.fullRebuilds == 1 && stats.gslbRebuilds == 2 && stats.incrementalRebuilds == 2)

        // A zone reload builds a new index.
        publisher.reload()
        let reloaded = publisher.box.load()
        #expect(zones.loads.load(ordering: .relaxed) == 2)
        #expect(reloaded.zoneIndex !== first.zoneIndex)
        #expect(publisher.stats.fullRebuilds == 2)
        // And the next config change shares that one.
        store.set(Self.config(weight: 70))
        #expect(publisher.refreshIfChanged())
        #expect(publisher.box.load().zoneIndex === reloaded.zoneIndex)
    }

    /// Zones a.pub.test., b.pub.test. and c.pub.test.; `changed` says which ones the next load hands over
    /// (the others are reported unchanged, as `ZoneDirectorySource` does for files that did not change).
    final class ChangingZones: ZoneSource {
        let changed = Mutex<Set<String>>(["a", "b", "c"])
        let serial = Atomic<UInt32>(1)
        /// Zones delivered without their SOA (a build of them fails).
        let withoutSOA = Mutex<Set<String>>([])
        func zone(_ label: String) -> ZoneContent {
            let o = try! DomainName("\(label).pub.test.")
            let s = serial.load(ordering: .relaxed)
            let soa = ResourceRecord(name: o, type: .soa, ttl: 3600,
                                     rdata: (try! DomainName("ns.pub.test.")).wire + (try! DomainName("hostmaster.pub.test.")).wire
                                         + [UInt8(s >> 24), UInt8((s >> 16) & 255), UInt8((s >> 8) & 255), UInt8(s & 255),
                                            0, 0, 14, 16, 0, 0, 2, 88, 0, 9, 58, 128, 0, 0, 0, 60])
            let ns = ResourceRecord(name: o, type: .ns, ttl: 3600, rdata: (try! DomainName("ns.pub.test.")).wire)
            return ZoneContent(origin: o, records: withoutSOA.withLock { $0.contains(label) } ? [ns] : [soa, ns], source: "memory")
        }
        func loadZones() -> ZoneLoadResult { ZoneLoadResult(zones: ["a", "b", "c"].map(zone), failures: []) }
        func loadChangedZones() -> ZoneLoadResult {
            let now = changed.withLock { c in defer { c = [] }; return c }
            return ZoneLoadResult(zones: now.sorted().map(zone), failures: [],
                                  unchanged: ["a", "b", "c"].filter { !now.contains($0) }.map { try! DomainName("\($0).pub.test.") })
        }
    }

    /// The end of the cold start reports every member's state as it was when the first round ended; a transition
    /// made after that may be queued first. The older report must not undo it (seen: a member that went down during
    /// the first round's end kept being answered as up).
    @Test func anOlderHealthReportQueuedAfterATransitionDoesNotUndoIt() throws {
        let publisher = SnapshotPublisher(source: CountingZones(), repository: Store(Self.config(weight: 100)))
        publisher.reload()
        let key = MemberKey(pool: "www.pub.test.", address: "192.0.2.1")
        publisher.applyHealth([MemberHealth(key: key, state: .down, since: 20)])
        publisher.applyHealth([MemberHealth(key: key, state: .up, since: 10)], endColdStart: true)
        publisher.flushHealth()
        let member = try #require(publisher.box.load().pools[0].members.first { $0.member.address == "192.0.2.1" })
        #expect(member.real == .down)
        // a later transition still applies
        publisher.applyHealth([MemberHealth(key: key, state: .up, since: 30)])
        publisher.flushHealth()
        #expect(publisher.box.load().pools[0].members.first { $0.member.address == "192.0.2.1" }?.real == .up)
    }

    @Test func aReloadWithEveryZoneUnchangedKeepsTheSnapshotAndOneChangedZoneIsIndexedAlone() throws {
        let zones = ChangingZones()
        let publisher = SnapshotPublisher(source: zones)
        publisher.reload()
        let first = publisher.box.load()
        #expect(first.zones.count == 3)
        #expect(publisher.stats.zonesIndexed == 3)

        // Nothing changed: the same snapshot keeps serving, nothing is built.
        let report = publisher.reload()
        #expect(publisher.box.load() === first)
        #expect(report.generation == first.generation)
        #expect(publisher.stats.unchangedReloads == 1)
        #expect(publisher.stats.fullRebuilds == 1)
        #expect(publisher.stats.zonesIndexed == 3)

        // b changed: b alone is indexed; a's and c's nodes are the very same objects.
        zones.serial.store(2, ordering: .relaxed)
        zones.changed.withLock { $0 = ["b"] }
        publisher.reload()
        let second = publisher.box.load()
        #expect(second.generation == first.generation + 1)
        #expect(publisher.stats.zonesIndexed == 4)
        let a = try DomainName("a.pub.test."), b = try DomainName("b.pub.test."), c = try DomainName("c.pub.test.")
        #expect(second.node(for: a) === first.node(for: a))
        #expect(second.node(for: c) === first.node(for: c))
        #expect(second.node(for: b) !== first.node(for: b))
        #expect(second.zones.first { $0.origin == b }?.serial == 2)
        #expect(second.zones.first { $0.origin == a }?.serial == 1)
    }

    /// The build is checked before the zone set lets go of the records it hands over: a changed zone that cannot be
    /// indexed leaves the served snapshot as it is, and is indexed once it arrives good.
    @Test func aChangedZoneWhoseBuildFailsLeavesTheServedSnapshotUntilItArrivesGood() throws {
        let zones = ChangingZones()
        let publisher = SnapshotPublisher(source: zones)
        publisher.reload()
        let first = publisher.box.load()
        let a = try DomainName("a.pub.test."), b = try DomainName("b.pub.test.")

        zones.serial.store(2, ordering: .relaxed)
        zones.withoutSOA.withLock { $0 = ["b"] }
        zones.changed.withLock { $0 = ["b"] }
        let failed = publisher.reload()
        #expect(publisher.box.load() === first)
        #expect(publisher.stats.failedRebuilds == 1)
        #expect(failed.errors.contains { $0.contains("b.pub.test.") && $0.contains("no SOA") })
        #expect(publisher.box.load().zones.first { $0.origin == b }?.serial == 1)

        zones.serial.store(3, ordering: .relaxed)
        zones.withoutSOA.withLock { $0 = [] }
        zones.changed.withLock { $0 = ["b"] }
        publisher.reload()
        let fixed = publisher.box.load()
        #expect(fixed !== first)
        #expect(fixed.zones.first { $0.origin == b }?.serial == 3)
        #expect(fixed.node(for: a) === first.node(for: a))
        #expect(publisher.stats.failedRebuilds == 1)
    }

    /// A replaced snapshot is let go of by the publisher (the store watcher's thread), once nothing else holds it:
    /// not by the query thread that happened to drop it last.
    @Test func aReplacedSnapshotIsReleasedByThePublisherOnceNothingElseHoldsIt() throws {
        let zones = ChangingZones()
        let publisher = SnapshotPublisher(source: zones)
        publisher.reload()
        var worker: ServingSnapshot? = publisher.box.load()   // a DNS worker answering from the first snapshot
        weak let first = worker
        zones.serial.store(2, ordering: .relaxed)
        zones.changed.withLock { $0 = ["a", "b", "c"] }
        publisher.reload()
        #expect(publisher.box.load() !== first)

        publisher.releaseRetired()
        #expect(first != nil)   // the worker still answers from it
        worker = nil            // the worker moved on
        #expect(first != nil)   // the publisher holds it: not freed on the worker's thread
        publisher.releaseRetired()
        #expect(first == nil)
        _ = worker
    }
}
