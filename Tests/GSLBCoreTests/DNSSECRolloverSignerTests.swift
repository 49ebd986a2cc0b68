import DNSWire
import Foundation
@testable import GSLBCore
import Testing

/// What each key signs in each rollover state (docs/dnssec.md "Key rollover"), the CDS the parent is shown,
/// and the timings: the answer engine on the conformance zone with keys in every state.
@Suite struct DNSSECRolloverSignerTests {
    typealias T = DNSSECAnswerTests

    static func key(_ role: DNSSECKeyRole, _ state: DNSSECKeyState) -> DNSSECKey {
        var k = DNSSECKey.generate(zone: "conf.example.", role: role, algorithm: .ecdsap256sha256, now: 0)
        k.state = state
        return k
    }

    static func tags(_ m: Message, _ section: [ResourceRecord], covering type: RecordType) -> Set<UInt16> {
        Set(section.filter { $0.type == .rrsig && T.RRSIG($0.rdata).covered == type.rawValue }.map { T.RRSIG($0.rdata).keyTag })
    }

    @Test func aPublishedZSKIsInTheDNSKEYSetButSignsNothingUntilItIsActive() throws {
        let ksk = Self.key(.ksk, .active), old = Self.key(.zsk, .active), new = Self.key(.zsk, .published)
        let snap = try T.snapshot(keys: [ksk, old, new])
        let keys = try T.ask(T.engine(), snap, "conf.example.", .dnskey)
        #expect(Set(keys.answer.filter { $0.type == .dnskey }.map { DNSSECKey.keyTag($0.rdata) }) == [ksk.keyTag, old.keyTag, new.keyTag])
        #expect(Self.tags(keys, keys.answer, covering: .dnskey) == [ksk.keyTag])
        let a = try T.ask(T.engine(), snap, "www.conf.example.", .a)
        #expect(Self.tags(a, a.answer, covering: .a) == [old.keyTag])
        // A step of the rollover: the new ZSK active, the old one retired; the same engine (its cache) signs anew.
        var active = new, retired = old
        active.state = .active; retired.state = .retired
        let engine = T.engine()
        _ = try T.ask(engine, snap, "www.conf.example.", .a)
        let after = try T.ask(engine, try T.snapshot(keys: [ksk, retired, active]), "www.conf.example.", .a)
        #expect(Self.tags(after, after.answer, covering: .a) == [new.keyTag], "a signature cached under the old key's use is not reused")
        let denial = try T.ask(engine, try T.snapshot(keys: [ksk, retired, active]), "nonexistent.conf.example.", .a)
        #expect(Self.tags(denial, denial.authority, covering: .nsec) == [new.keyTag])
    }

    @Test func bothKSKsSignTheKeysWhileCDSNamesTheOneTheParentShouldHave() throws {
        let old = Self.key(.ksk, .active), zsk = Self.key(.zsk, .active)
        for (state, parent) in [(DNSSECKeyState.published, old), (.dsPending, nil), (.active, nil)] {
            let new = Self.key(.ksk, state)
            var oldNow = old
            if state == .active { oldNow.state = .retired }
            let snap = try T.snapshot(keys: [oldNow, new, zsk])
            let keys = try T.ask(T.engine(), snap, "conf.example.", .dnskey)
            #expect(Self.tags(keys, keys.answer, covering: .dnskey) == [old.keyTag, new.keyTag], "\(state): double signature")
            let cds = try T.ask(T.engine(), snap, "conf.example.", .cds)
            let named = cds.answer.filter { $0.type == .cds }.map { UInt16($0.rdata[0]) << 8 | UInt16($0.rdata[1]) }
            #expect(named == [(parent ?? new).keyTag], "\(state): CDS")
            #expect(Self.tags(cds, cds.answer, covering: .cds) == [old.keyTag, new.keyTag])
            let a = try T.ask(T.engine(), snap, "www.conf.example.", .a)
            #expect(Self.tags(a, a.answer, covering: .a) == [zsk.keyTag], "\(state): the ZSK alone signs the data")
        }
    }

    /// The DNSKEY TTL is the SOA's (at most an hour); the rollover waits derive from it, the zone's longest TTL and
    /// the negative TTL (RFC 7583 §3.2.1, §3.3.1).
    @Test func theTimingsDeriveFromTheZonesTTLsAndTheDelays() throws {
        let snap = try T.snapshot(keys: [Self.key(.csk, .active)])
        let ttls = try #require(snap.rolloverTTLs(zone: "conf.example."))
        let keys = try T.ask(T.engine(), snap, "conf.example.", .dnskey)
        #expect(UInt32(ttls.dnskey) == keys.answer[0].ttl && ttls.dnskey == 3600)
        #expect(ttls.maxSigned >= 3600)
        #expect(snap.rolloverTTLs(zone: "not.served.") == nil)
        let d = RolloverDelays(propagation: 100, dsTTL: 1000, parentPropagation: 10)
        let t = ZoneTTLs(dnskey: 50, maxSigned: 500)
        func at(_ role: DNSSECKeyRole, _ state: DNSSECKeyState) -> Double? {
            var k = Self.key(role, state)
            k.stateSince = 10_000
            k.rollover = d
            return DNSSECRollover.due(k, ttls: t)
        }
        #expect(at(.zsk, .published) == 10_150 && at(.ksk, .published) == 10_150)   // Ipub = Dprp + TTLkey
        #expect(at(.zsk, .retired) == 10_600)                                         // Iret = Dprp + TTLsig
        #expect(at(.ksk, .retired) == 11_010)                                         // DprpP + TTLds
        #expect(at(.csk, .retired) == 11_010)                                         // the longer of both
        #expect(at(.ksk, .dsPending) == nil && at(.zsk, .active) == nil)
        var shown = Self.key(.zsk, .retired)
        shown.stateSince = 10_000; shown.rollover = d; shown.nextAt = 20_000
        #expect(DNSSECRollover.due(shown, ttls: t) == 20_000, "a time shown is never brought forward")
    }
}
