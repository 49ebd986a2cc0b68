import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
@Suite struct TokenTests {
    /// Token hashes are SHA-256 in lowercase hex (swift-crypto), checked against the FIPS 180-4 vectors.
    @Test func sha256MatchesTheFIPSTestVectors() {
        #expect(TokenSecret.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(TokenSecret.hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(TokenSecret.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(TokenSecret.hash(String(repeating: "a", count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test(arguments: Backend.allCases) func aTokenIsStoredOnlyAsItsHashAndFoundByIt(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let (token, secret) = try store.createToken(name: "ci", scope: .write, expiresAt: fixedTime + 60, principal: "alice",
                                                    source: "cli")
        #expect(secret.hasPrefix("cairn_") && secret.count == 49)
        #expect(token.hash == TokenSecret.hash(secret))
        #expect(try store.token(hash: TokenSecret.hash(secret)) == token)
        #expect(try store.token(hash: TokenSecret.hash(secret + "x")) == nil)
        #expect(try store.token(secret: secret) == token)
        // The secret is nowhere in the store: not in the file, not in any column of any table.
        if let path = store.path {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(bytes.range(of: Data(secret.utf8)) == nil)
        }
        for table in Schema.tables {
            for row in try store.rows(of: table) {
                #expect(!row.values.contains { if case .text(let t) = $0 { return t.contains(secret) } else { return false } })
            }
        }
        #expect(!token.isExpired(at: fixedTime + 59) && token.isExpired(at: fixedTime + 60))
        #expect(TokenScope.admin.allows(.write) && TokenScope.write.allows(.read) && !TokenScope.read.allows(.write))
        // Creation and deletion are audited without the secret.
        try store.deleteToken(id: token.id, principal: "alice", source: "cli", requestID: nil)
        #expect(try store.listTokens().isEmpty)
        let audit = try store.listAudit(object: "token:\(token.id)")
        #expect(audit.map(\.action) == ["create", "delete"])
        #expect(audit.allSatisfy { !($0.after ?? "").contains(secret) && !($0.before ?? "").contains(token.hash) })
        #expect(throws: StoreError.self) { try store.deleteToken(id: token.id, principal: "a", source: "b", requestID: nil) }
    }

    @Test func twoSecretsNeverRepeat() {
        let all = Set((0..<1000).map { _ in TokenSecret.generate() })
        #expect(all.count == 1000)
        #expect(APIToken.constantTimeEquals("abc", "abc") && !APIToken.constantTimeEquals("abc", "abd")
                && !APIToken.constantTimeEquals("abc", "ab"))
    }
}
}
