import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
@Suite struct TSIGKeyTests {
    static let secret: [UInt8] = Array(0..<32)

    @Test(arguments: Backend.allCases) func aKeyIsStoredLoadedIntoTheStateAndAuditedWithoutItsSecret(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let t0 = try store.changeToken()
        let key = try store.createTSIGKey(name: "Xfr.Example", algorithm: .hmacSHA256, secret: Self.secret, principal: "alice",
                                          source: "cli", requestID: "r1")
        #expect(key.name == "xfr.example.")
        #expect(key.secret == Self.secret)
        #expect(try store.changeToken() != t0, "a new key moves the change token: the snapshot is rebuilt")
        #expect(try store.listTSIGKeys() == [key])
        #expect(try place.open().loadState().tsigKeys == [key])
        // A generated secret is as long as the algorithm's MAC.
        let made = try store.createTSIGKey(name: "a.example.", algorithm: .hmacSHA512, secret: nil, principal: "alice",
                                           source: "cli", requestID: nil)
        #expect(made.secret.count == 64)
        #expect(try store.listTSIGKeys().map(\.name) == ["a.example.", "xfr.example."])

        try store.deleteTSIGKey(name: "XFR.example", principal: "bob", source: "cli", requestID: nil)
        #expect(try store.listTSIGKeys().map(\.name) == ["a.example."])
        let audit = try store.listAudit(object: "tsig-key:xfr.example.")
        #expect(audit.map(\.action) == ["create", "delete"])
        #expect(audit[0].after == #"{"algorithm":"hmac-sha256","name":"xfr.example."}"#)
        #expect(audit[1].before == #"{"algorithm":"hmac-sha256","name":"xfr.example."}"#)
        #expect(audit[0].requestID == "r1")
        let base64 = Data(Self.secret).base64EncodedString()
        for row in try store.rows(of: "audit_log") {
            #expect(!row.values.contains { if case .text(let t) = $0 { return t.contains(base64) } else { return false } })
        }
        // Nothing of the secret in its description either (logs print values).
        #expect(!"\(key)".contains(base64) && !String(reflecting: key).contains("0, 1, 2"))
    }

    @Test(arguments: Backend.allCases) func badNamesSecretsDuplicatesAndMissingKeysAreRefused(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        func code(_ body: () throws -> Void) -> StoreError.Code? {
            do { try body(); return nil } catch let e as StoreError { return e.code } catch { return nil }
        }
        #expect(code { _ = try store.createTSIGKey(name: "k.example", algorithm: .hmacSHA1, secret: Self.secret, principal: "a",
                                                   source: "b", requestID: nil) } == nil)
        #expect(code { _ = try store.createTSIGKey(name: "K.EXAMPLE.", algorithm: .hmacSHA256, secret: Self.secret, principal: "a",
                                                   source: "b", requestID: nil) } == .conflict)
        for bad in ["", ".", "a..b", "key\"x", "k y", String(repeating: "a", count: 64) + ".example"] {
            #expect(code { _ = try store.createTSIGKey(name: bad, algorithm: .hmacSHA256, secret: Self.secret, principal: "a",
                                                       source: "b", requestID: nil) } == .invalid, "\(bad)")
        }
        for n in [0, 15, 513] {
            #expect(code { _ = try store.createTSIGKey(name: "s\(n).example", algorithm: .hmacSHA256, secret: Array(repeating: 7, count: n),
                                                       principal: "a", source: "b", requestID: nil) } == .invalid, "\(n) octets")
        }
        #expect(code { try store.deleteTSIGKey(name: "nope.example", principal: "a", source: "b", requestID: nil) } == .notFound)
        #expect(try store.listTSIGKeys().map(\.name) == ["k.example."])
    }

    /// The documented limit: at most `TSIGKey.maxCount` keys.
    @Test(arguments: Backend.allCases) func theThousandAndFirstKeyIsRefused(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let secret = Data(Self.secret).base64EncodedString()
        let rows = (1..<TSIGKey.maxCount).map { "('k\($0).example.', 'hmac-sha256', '\(secret)', 0)" }
        try store.executeRaw("INSERT INTO tsig_keys (name, algorithm, secret, created_at) VALUES " + rows.joined(separator: ", "))
        _ = try store.createTSIGKey(name: "last.example", algorithm: .hmacSHA256, secret: nil, principal: "a", source: "b",
                                    requestID: nil)
        #expect(try store.listTSIGKeys().count == TSIGKey.maxCount)
        #expect(throws: StoreError.self) {
            try store.createTSIGKey(name: "one-more.example", algorithm: .hmacSHA256, secret: nil, principal: "a", source: "b",
                                    requestID: nil)
        }
    }

    /// `cairn store copy` copies the keys, secrets included (another node must verify the same signatures).
    @Test(arguments: Backend.allCases) func aStoreCopyCarriesTheKeys(_ backend: Backend) throws {
        let from = try backend.makeLocation()
        defer { from.cleanUp() }
        let source = try from.open()
        let key = try source.createTSIGKey(name: "xfr.example", algorithm: .hmacSHA384, secret: nil, principal: "a", source: "b",
                                           requestID: nil)
        let to = try Backend.sqlite.makeLocation()
        defer { to.cleanUp() }
        let copied = try source.copy(to: try to.open())
        #expect(copied.first { $0.table == "tsig_keys" }?.rows == 1)
        #expect(try to.open().listTSIGKeys() == [key])
    }
}
}
