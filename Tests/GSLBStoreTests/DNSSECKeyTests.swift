import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
@Suite struct DNSSECKeyTests {
    @Test(arguments: Backend.allCases) func enablingStoresKeysThatLoadIntoTheStateAndAuditsNoPrivateKey(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let t0 = try store.changeToken()
        let keys = try store.enableDNSSEC(zone: "Example.COM", algorithm: .ecdsap256sha256, split: false, principal: "alice",
                                          source: "cli", requestID: "r1")
        #expect(keys.count == 1 && keys[0].zone == "example.com." && keys[0].role == .csk && keys[0].flags == 257)
        #expect(keys[0].publicKey.count == 64 && keys[0].privateKey.count == 32)
        #expect(try store.changeToken() != t0, "new keys move the change token: the snapshot is rebuilt")
        #expect(try place.open().loadState().dnssecKeys == keys)
        #expect(try store.listDNSSECKeys(zone: "example.com") == keys)
        let split = try store.enableDNSSEC(zone: "b.example.", algorithm: .ed25519, split: true, principal: "alice",
                                           source: "cli", requestID: nil)
        #expect(split.map(\.role) == [.ksk, .zsk] && split.map(\.flags) == [257, 256] && split[0].publicKey.count == 32)
        #expect(try store.listDNSSECKeys(zone: nil).map(\.zone) == ["b.example.", "b.example.", "example.com."])

        try store.disableDNSSEC(zone: "EXAMPLE.com.", principal: "bob", source: "cli", requestID: nil)
        #expect(try store.listDNSSECKeys(zone: nil).map(\.zone) == ["b.example.", "b.example."])
        let audit = try store.listAudit(object: "dnssec:example.com.")
        #expect(audit.map(\.action) == ["create", "delete"])
        #expect(audit[0].after?.contains("\"key_tag\":\(keys[0].keyTag)") == true)
        // The private keys are nowhere in the audit log, the descriptions or the encoding.
        for k in keys + split {
            let secret = Data(k.privateKey).base64EncodedString()
            for row in try store.rows(of: "audit_log") {
                #expect(!row.values.contains { if case .text(let t) = $0 { return t.contains(secret) } else { return false } })
            }
            #expect(!"\(k)".contains(secret) && !String(reflecting: k).contains(secret))
            let json = String(decoding: try JSONEncoder().encode(k), as: UTF8.self)
            #expect(!json.contains(secret) && json.contains(Data(k.publicKey).base64EncodedString().replacingOccurrences(of: "/", with: "\\/")))
        }
    }

    @Test(arguments: Backend.allCases) func aSignedZoneCannotBeEnabledTwiceNorAnUnsignedOneDisabled(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        func code(_ body: () throws -> Void) -> StoreError.Code? {
            do { try body(); return nil } catch let e as StoreError { return e.code } catch { return nil }
        }
        _ = try store.enableDNSSEC(zone: "a.example", algorithm: .ecdsap256sha256, split: false, principal: "a", source: "b", requestID: nil)
        #expect(code { _ = try store.enableDNSSEC(zone: "A.example.", algorithm: .ed25519, split: false, principal: "a", source: "b",
                                                  requestID: nil) } == .conflict)
        #expect(code { try store.disableDNSSEC(zone: "other.example", principal: "a", source: "b", requestID: nil) } == .notFound)
        #expect(code { _ = try store.enableDNSSEC(zone: "bad..name", algorithm: .ed25519, split: false, principal: "a", source: "b",
                                                  requestID: nil) } == .invalid)
    }

    /// `cairn store copy` copies the keys, private keys included (every node signs with the same keys).
    @Test(arguments: Backend.allCases) func aStoreCopyCarriesTheKeys(_ backend: Backend) throws {
        let from = try backend.makeLocation()
        defer { from.cleanUp() }
        let source = try from.open()
        let keys = try source.enableDNSSEC(zone: "a.example", algorithm: .ecdsap256sha256, split: true, principal: "a", source: "b",
                                           requestID: nil)
        let to = try Backend.sqlite.makeLocation()
        defer { to.cleanUp() }
        let copied = try source.copy(to: try to.open())
        #expect(copied.first { $0.table == "dnssec_keys" }?.rows == 2)
        #expect(try to.open().listDNSSECKeys(zone: nil) == keys)
    }
}
}
