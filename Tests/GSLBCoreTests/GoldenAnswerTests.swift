import DNSWire
import Foundation
import GSLBCore
import Testing
import ZoneFiles

/// The lookup algorithm against readable dig-like goldens (NSD tpkg style):
/// Fixtures/golden/answers.txt holds every case's expected response.
/// Regenerate with CAIRN_UPDATE_GOLDEN=1 and review the diff.
@Suite struct GoldenAnswerTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func snapshot() throws -> ServingSnapshot {
        let (zones, errors) = ZoneDirectory.load(directory: fixtures.appendingPathComponent("zones").path)
        #expect(errors.isEmpty, "\(errors)")
        return try SnapshotBuilder().build(zones: zones)
    }

    struct Case: CustomStringConvertible {
        let name: String
        let type: RecordType
        var qclass: UInt16 = RecordClass.in
        var edns: (udpSize: UInt16, dnssecOK: Bool)? = nil
        var transport: AnswerEngine.Transport = .udp
        var description: String {
            "\(name) \(type)\(qclass != 1 ? " CLASS\(qclass)" : "")\(edns.map { " +edns=\($0.udpSize)" } ?? "")\(transport == .tcp ? " +tcp" : "")"
        }
    }

    static let cases: [Case] = [
        Case(name: "conf.example.", type: .soa),
        Case(name: "conf.example.", type: .ns),
        Case(name: "www.conf.example.", type: .a),
        Case(name: "WwW.CoNf.ExAmPlE.", type: .a),
        Case(name: "www.conf.example.", type: .mx),
        Case(name: "nonexistent.conf.example.", type: .a),
        Case(name: "ent.conf.example.", type: .a),
        Case(name: "cname.conf.example.", type: .a),
        Case(name: "chain1.conf.example.", type: .a),
        Case(name: "dangling.conf.example.", type: .a),
        Case(name: "loop1.conf.example.", type: .a),
        Case(name: "ext.conf.example.", type: .a),
        Case(name: "extnx.conf.example.", type: .a),
        Case(name: "foo.wild.conf.example.", type: .a),
        Case(name: "foo.wild.conf.example.", type: .aaaa),
        Case(name: "explicit.wild.conf.example.", type: .txt),
        Case(name: "x.explicit.wild.conf.example.", type: .a),
        Case(name: "b.wild.conf.example.", type: .a),
        Case(name: "c.b.wild.conf.example.", type: .a),
        Case(name: "foo.cwild.conf.example.", type: .a),
        Case(name: "www.sub.conf.example.", type: .a),
        Case(name: "sub.conf.example.", type: .ds),
        Case(name: "ns1.sub.conf.example.", type: .a),
        Case(name: "x.lame.conf.example.", type: .a),
        Case(name: "cname-deleg.conf.example.", type: .a),
        Case(name: "www.dn.conf.example.", type: .a),
        Case(name: "dn.conf.example.", type: .a),
        Case(name: String(repeating: "a", count: 63) + ".dlong.conf.example.", type: .a),
        Case(name: "big.conf.example.", type: .a),
        Case(name: "big.conf.example.", type: .a, edns: (4096, false)),
        Case(name: "huge.conf.example.", type: .txt, transport: .tcp),
        Case(name: "conf.example.", type: .any),
        Case(name: "www.conf.example.", type: .any),
        Case(name: "conf.example.", type: .soa, qclass: RecordClass.ch),
        Case(name: "conf.example.", type: .axfr, transport: .tcp),
        Case(name: "www.example.com.", type: .a),
        Case(name: "foo.star.other.test.", type: .a),
        Case(name: "ttl0.conf.example.", type: .a, edns: (1232, true)),
    ]

    func render(_ c: Case, engine: AnswerEngine, snapshot: ServingSnapshot) throws -> String {
        let q = QueryBuilder.make(id: 1, name: try DomainName(c.name), type: c.type, qclass: c.qclass, edns: c.edns)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { out.deallocate() }
        let n = q.withUnsafeBytes { engine.respond(to: $0, transport: c.transport, snapshot: snapshot, into: out) }
        let m = try Message(bytes: Array(out[0..<n]))
        return "=== \(c)\nsize: \(n)\n\(m)"
    }

    @Test func everyCaseMatchesItsGoldenAnswer() throws {
        let snap = try Self.snapshot()
        let engine = AnswerEngine()
        var text = ""
        for c in Self.cases { text += try render(c, engine: engine, snapshot: snap) + "\n" }
        let golden = Self.fixtures.appendingPathComponent("golden/answers.txt")
        if ProcessInfo.processInfo.environment["CAIRN_UPDATE_GOLDEN"] != nil {
            let src = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/golden/answers.txt")
            try text.write(to: src, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let b = text.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? String(a[i]) : "<missing>"
            let y = i < b.count ? String(b[i]) : "<missing>"
            if x != y {
                Issue.record("golden line \(i + 1) differs:\n  expected: \(x)\n  actual:   \(y)")
                break
            }
        }
    }
}
