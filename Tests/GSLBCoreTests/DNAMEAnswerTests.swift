import DNSWire
import Foundation
import GSLBCore
import Testing

/// RFC 6672 §3.1 answer sections under a DNAME, as NSD 4.6 gives them (Tests/conformance/structure.corpus
/// compares every qtype with NSD; these are the cases that differed).
@Suite struct DNAMEAnswerTests {
    static func ask(_ name: String, _ type: RecordType) throws -> Message {
        let snap = try GoldenAnswerTests.snapshot()
        let q = QueryBuilder.make(id: 9, name: try DomainName(name), type: type)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { out.deallocate() }
        let n = q.withUnsafeBytes { AnswerEngine().respond(to: $0, transport: .tcp, snapshot: snap, into: out) }
        return try Message(bytes: Array(out[0..<n]))
    }

    /// The synthesized CNAME is the answer to a CNAME question: its target is not chased, so
    /// neither the target's NODATA (an SOA) nor its NXDOMAIN appears.
    @Test(arguments: ["www.dn.conf.example.", "nx.dn.conf.example.", "www.dnx.conf.example.", "x.star.dnx.conf.example."])
    func aCNAMEQuestionBelowADNAMEGetsTheDNAMEAndTheSynthesizedCNAMEOnly(name: String) throws {
        let m = try Self.ask(name, .cname)
        #expect(m.rcode == .noError, "\(name)")
        #expect(m.answer.map(\.type) == [.dname, .cname], "\(name)")
        #expect(m.answer.last?.name == (try DomainName(name)))
        #expect(m.authority.isEmpty, "\(name)")
    }

    @Test func otherQuestionsBelowADNAMEAreStillChased() throws {
        let a = try Self.ask("www.dn.conf.example.", .a)
        #expect(a.answer.map(\.type) == [.dname, .cname, .a])
        let nx = try Self.ask("nx.dn.conf.example.", .a)
        #expect(nx.rcode == .nxDomain)
        #expect(nx.authority.map(\.type) == [.soa])
    }

    @Test func aSubstitutionTooLongIsStillYXDomainForCNAME() throws {
        let m = try Self.ask(String(repeating: "a", count: 63) + ".dlong.conf.example.", .cname)
        #expect(m.rcode == .yxDomain)
    }
}
