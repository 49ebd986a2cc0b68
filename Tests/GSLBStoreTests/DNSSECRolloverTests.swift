import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
/// Rollovers in the store (docs/dnssec.md "Key rollover"), on SQLite and PostgreSQL: each step at its time, taken
/// once when two nodes (two `Store`s on one database) advance together, kept across a reopen.
@Suite struct DNSSECRolloverTests {
    static let ttls = ZoneTTLs(dnskey: 60, maxSigned: 300)

    /// The code of the `StoreError` `body` throws, nil when it throws none.
    static func code(_ body: () throws -> Void) -> StoreError.Code? {
        do { try body(); return nil } catch let e as StoreError { return e.code } catch { return nil }
    }

    /// The state of each of `keys` in `stored` (nil: removed). The test store's clock stands still, so keys
    /// created together are listed by key tag: look them up by public key.
    static func states(_ stored: [DNSSECKey], _ keys: [DNSSECKey]) -> [DNSSECKeyState?] {
        keys.map { k in stored.first { $0.publicKey == k.publicKey }?.state }
    }
    static let delays = RolloverDelays(propagation: 10, dsTTL: 100, parentPropagation: 20)

    @Test(arguments: Backend.allCases) func aZSKRolloverPublishesActivatesRetiresAndRemovesOnceAcrossTwoNodes(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let a = try place.open(), b = try place.open()
        let enabled = try a.enableDNSSEC(zone: "z.example", algorithm: .ecdsap256sha256, split: true, principal: "op", source: "cli",
                                         requestID: nil)
        let oldZSK = enabled[1]
        let new = try a.startRollover(zone: "Z.example", ksk: false, delays: Self.delays, principal: "op", source: "cli", requestID: nil)
        #expect(new.role == .zsk && new.state == .published && new.rollover == Self.delays)
        let t0 = new.stateSince
        // Before Ipub = Dprp + TTLkey: no step, but the time of the next one is written for `status`.
        #expect(try a.advanceRollovers(keys: a.listDNSSECKeys(zone: nil), ttls: { _ in Self.ttls }, now: t0 + 69).isEmpty)
        var keys = try b.listDNSSECKeys(zone: "z.example")
        #expect(keys.first { $0.publicKey == new.publicKey }?.nextAt == t0 + 70)
        // Both nodes see the step due; one takes it.
        let snapshotKeys = keys
        let stepsA = try a.advanceRollovers(keys: snapshotKeys, ttls: { _ in Self.ttls }, now: t0 + 70)
        let stepsB = try b.advanceRollovers(keys: snapshotKeys, ttls: { _ in Self.ttls }, now: t0 + 70.5)
        #expect(stepsA == ["z.example. zsk \(new.keyTag) active, zsk \(oldZSK.keyTag) retired"] && stepsB.isEmpty, "\(stepsA) \(stepsB)")
        keys = try place.open().listDNSSECKeys(zone: "z.example")
        #expect(Self.states(keys, enabled + [new]) == [.active, .retired, .active], "KSK, old ZSK, new ZSK")
        let retired = try #require(keys.first { $0.state == .retired })
        // Iret = Dprp + TTLsig.
        _ = try a.advanceRollovers(keys: keys, ttls: { _ in Self.ttls }, now: t0 + 71)
        #expect(try a.listDNSSECKeys(zone: "z.example").first { $0.state == .retired }?.nextAt == t0 + 70 + 310)
        keys = try a.listDNSSECKeys(zone: "z.example")
        #expect(try a.advanceRollovers(keys: keys, ttls: { _ in Self.ttls }, now: t0 + 379).isEmpty)
        #expect(try b.advanceRollovers(keys: keys, ttls: { _ in Self.ttls }, now: t0 + 380) == ["z.example. zsk \(retired.keyTag) removed"])
        #expect(try a.advanceRollovers(keys: keys, ttls: { _ in Self.ttls }, now: t0 + 381).isEmpty)
        keys = try a.listDNSSECKeys(zone: "z.example")
        #expect(Self.states(keys, enabled + [new]) == [.active, nil, .active] && keys.count == 2)
        #expect(try a.listAudit(object: "dnssec:z.example.").map(\.action) == ["create", "rollover", "rollover", "rollover"])
    }

    @Test(arguments: Backend.allCases) func aKSKRolloverWaitsForDSSeenThenRetiresTheOldKeyAfterTheParentsTTL(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let enabled = try store.enableDNSSEC(zone: "k.example", algorithm: .ed25519, split: false, principal: "op", source: "cli",
                                             requestID: nil)
        let new = try store.startRollover(zone: "k.example", ksk: true, delays: Self.delays, principal: "op", source: "cli", requestID: nil)
        #expect(new.role == .csk && new.algorithm == .ed25519)
        // The parent keeps the old DS until the new key is pending.
        #expect(DNSSECRollover.parentKeys(try store.listDNSSECKeys(zone: "k.example")).map(\.publicKey) == [enabled[0].publicKey])
        #expect(Self.code { _ = try store.confirmDS(zone: "k.example", principal: "op", source: "cli", requestID: nil) } == .conflict)
        #expect(Self.code { _ = try store.startRollover(zone: "k.example", ksk: true, delays: .standard, principal: "op", source: "cli",
                                                    requestID: nil) } == .conflict, "one rollover at a time")
        let t0 = new.stateSince
        var keys = try store.listDNSSECKeys(zone: "k.example")
        #expect(try store.advanceRollovers(keys: keys, ttls: { _ in Self.ttls }, now: t0 + 70).count == 1)
        keys = try place.open().listDNSSECKeys(zone: "k.example")
        #expect(Self.states(keys, enabled + [new]) == [.active, .dsPending] && keys.allSatisfy { $0.nextAt == nil })
        #expect(DNSSECRollover.parentKeys(keys).map(\.publicKey) == [new.publicKey], "CDS names the new key")
        // Nothing moves by the clock while the DS is pending.
        #expect(try store.advanceRollovers(keys: keys, ttls: { _ in Self.ttls }, now: t0 + 1e6).isEmpty)
        keys = try store.confirmDS(zone: "K.EXAMPLE.", principal: "op", source: "cli", requestID: nil)
        #expect(Self.states(keys, enabled + [new]) == [.retired, .active])
        // A retired CSK stays for the longer of DprpP + TTLds (120) and Dprp + TTLsig (310).
        let old = try #require(keys.first { $0.state == .retired })
        let since = old.stateSince
        #expect(DNSSECRollover.due(old, ttls: Self.ttls) == since + 310)
        #expect(try store.advanceRollovers(keys: keys, ttls: { _ in Self.ttls }, now: since + 309).isEmpty)
        #expect(try store.advanceRollovers(keys: keys, ttls: { _ in Self.ttls }, now: since + 310).count == 1)
        #expect(try store.listDNSSECKeys(zone: "k.example").map(\.publicKey) == [new.publicKey])
        #expect(try store.listAudit(object: "dnssec:k.example.").map(\.action) == ["create", "rollover", "rollover", "ds-seen", "rollover"])
    }

    @Test(arguments: Backend.allCases) func rolloversThatCannotStartAreRefused(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        #expect(Self.code { _ = try store.startRollover(zone: "none.example", ksk: false, delays: .standard, principal: "op", source: "cli",
                                                    requestID: nil) } == .notFound)
        _ = try store.enableDNSSEC(zone: "c.example", algorithm: .ecdsap256sha256, split: false, principal: "op", source: "cli", requestID: nil)
        #expect(Self.code { _ = try store.startRollover(zone: "c.example", ksk: false, delays: .standard, principal: "op", source: "cli",
                                                    requestID: nil) } == .conflict, "a CSK zone has no ZSK")
        #expect(Self.code { _ = try store.confirmDS(zone: "none.example", principal: "op", source: "cli", requestID: nil) } == .notFound)
    }
}
}
