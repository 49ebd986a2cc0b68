import Crypto
import DNSWire
import Foundation
@testable import GSLBCore
import Testing

/// DO=1 queries for the DNSSEC types in a signed zone (docs/dnssec.md "Queries for DNSSEC types"): type NSEC gets
/// the NSEC the name has in its denials (compact denial: nonexistent names too), type RRSIG the signatures of the
/// name's RRsets and of that NSEC, NXNAME a format error (RFC 9824 §3.5); every signature verifies.
@Suite struct DNSSECTypeQueryTests {
    typealias T = DNSSECAnswerTests

    /// Verifies `sig` (RRSIG RDATA) over `records` at `owner` with the test key, as RFC 4034 §3.1.8.1 says.
    static func verifies(_ sig: [UInt8], owner: DomainName, _ records: [ResourceRecord]) throws -> Bool {
        let r = T.RRSIG(sig)
        var data = Array(sig[0..<(sig.count - r.signature.count)])
        let rdatas = records.map(\.rdata).sorted { $0.lexicographicallyPrecedes($1) }
        for rd in rdatas {
            data += owner.key + [UInt8(r.covered >> 8), UInt8(r.covered & 0xff), 0, 1]
            data += [UInt8(r.originalTTL >> 24), UInt8((r.originalTTL >> 16) & 0xff), UInt8((r.originalTTL >> 8) & 0xff),
                     UInt8(r.originalTTL & 0xff), UInt8(rd.count >> 8), UInt8(rd.count & 0xff)] + rd
        }
        let key = try P256.Signing.PublicKey(rawRepresentation: T.key.publicKey)
        return key.isValidSignature(try P256.Signing.ECDSASignature(rawRepresentation: r.signature), for: data)
    }

    @Test func aQueryForNSECGetsTheNamesNSECSignedAtExistingAndNonexistentNames() throws {
        let snap = try T.snapshot()
        for (name, nxname) in [("www.conf.example.", false), ("nonexistent.conf.example.", true)] {
            let m = try T.ask(T.engine(), snap, name, .nsec)
            #expect(m.rcode == .noError && m.answer.map(\.type) == [.nsec, .rrsig] && m.authority.isEmpty, "\(name): \(m)")
            let nsec = m.answer[0]
            // Next name `\000.name`; the bitmap's window 0 has NSEC and RRSIG, and NXNAME (window 0, bit 128) only when absent.
            #expect(nsec.rdata.starts(with: [1, 0] + T.n(name).wire))
            #expect(nsec.rdata.count > 2 + T.n(name).wire.count)
            let bitmap = Array(nsec.rdata[(2 + T.n(name).wire.count)...])
            #expect((bitmap.count > 2 + 16 && bitmap[2 + 16] & 0x80 != 0) == nxname, "\(name): \(bitmap)")
            #expect(try Self.verifies(m.answer[1].rdata, owner: T.n(name), [nsec]), "\(name)")
        }
        // DO=0: what an unsigned server answers (no NSEC exists for it).
        let plain = try T.ask(T.engine(), snap, "www.conf.example.", .nsec, dnssec: false)
        #expect(plain.answer.isEmpty)
    }

    @Test func aQueryForRRSIGGetsTheSignaturesOfTheNamesRRsetsAndOfItsNSEC() throws {
        let snap = try T.snapshot()
        let m = try T.ask(T.engine(), snap, "conf.example.", .rrsig)
        #expect(m.rcode == .noError && m.authority.isEmpty && m.answer.allSatisfy { $0.type == .rrsig }, "\(m)")
        let covered = Set(m.answer.map { T.RRSIG($0.rdata).covered })
        for t in [RecordType.soa, .ns, .dnskey, .cds, .cdnskey, .nsec] { #expect(covered.contains(t.rawValue), "\(t)") }
        // Each verifies over the RRset the server answers for its type.
        for sig in m.answer where [RecordType.soa.rawValue, RecordType.dnskey.rawValue].contains(T.RRSIG(sig.rdata).covered) {
            let type = RecordType(T.RRSIG(sig.rdata).covered)
            let set = try T.ask(T.engine(), snap, "conf.example.", type).answer.filter { $0.type == type }
            #expect(try Self.verifies(sig.rdata, owner: T.n("conf.example."), set), "\(type)")
        }
        let none = try T.ask(T.engine(), snap, "nonexistent.conf.example.", .rrsig)
        #expect(none.answer.map { T.RRSIG($0.rdata).covered } == [RecordType.nsec.rawValue] && none.authority.isEmpty)
    }

    @Test func anExplicitQueryForNXNAMEIsAFormatError() throws {
        let m = try T.ask(T.engine(), try T.snapshot(), "www.conf.example.", RecordType(128))
        #expect(m.rcode == .formErr)
    }
}
