import Crypto
import DNSWire
import Foundation
@testable import GSLBCore
import Testing
import ZoneFiles

/// Online signing in the answer engine (docs/dnssec.md), on the conformance fixture zone signed with a
/// fresh key and a fixed clock. The signatures themselves are checked by an independent validator in
/// IntegrationTests' DNSSECTests (Unbound, dnspython); here the fields, the denial, the cache and truncation.
@Suite struct DNSSECAnswerTests {
    static let now: UInt64 = 1_800_000_000
    static let key = DNSSECKey.generate(zone: "conf.example.", role: .csk, algorithm: .ecdsap256sha256, now: 0)

    static func snapshot(keys: [DNSSECKey] = [key]) throws -> ServingSnapshot {
        let (zones, errors) = ZoneDirectory.load(directory: GoldenAnswerTests.fixtures.appendingPathComponent("zones").path)
        #expect(errors.isEmpty, "\(errors)")
        return try SnapshotBuilder().build(zones: zones, gslb: GSLBState(dnssecKeys: keys))
    }

    static func ask(_ engine: AnswerEngine, _ snap: ServingSnapshot, _ name: String, _ type: RecordType, dnssec: Bool = true,
                    udpSize: UInt16 = 1232, transport: AnswerEngine.Transport = .udp) throws -> Message {
        let q = QueryBuilder.make(id: 7, name: try DomainName(name), type: type, edns: (udpSize, dnssec))
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { out.deallocate() }
        let n = q.withUnsafeBytes { engine.respond(to: $0, transport: transport, snapshot: snap, into: out) }
        return try Message(bytes: Array(out[0..<n]))
    }

    static func n(_ text: String) -> DomainName { try! DomainName(text) }

    static func engine(now: UInt64 = now) -> AnswerEngine {
        let e = AnswerEngine()
        e.clock = { now }
        return e
    }

    /// The RRSIG RDATA fields (RFC 4034 §3.1).
    struct RRSIG {
        var covered: UInt16, algorithm: UInt8, labels: UInt8, originalTTL: UInt32, expiration: UInt32, inception: UInt32
        var keyTag: UInt16, signer: [UInt8], signature: [UInt8]
        init(_ r: [UInt8]) {
            func u16(_ o: Int) -> UInt16 { UInt16(r[o]) << 8 | UInt16(r[o + 1]) }
            func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) << 16 | UInt32(u16(o + 2)) }
            covered = u16(0); algorithm = r[2]; labels = r[3]; originalTTL = u32(4); expiration = u32(8); inception = u32(12)
            keyTag = u16(16)
            var p = 18
            while r[p] != 0 { p += Int(r[p]) + 1 }
            signer = Array(r[18...p]); signature = Array(r[(p + 1)...])
        }
    }

    @Test func aDOAnswerCarriesAnRRSIGWithTheRightFieldsAndASignatureThatVerifies() throws {
        let snap = try Self.snapshot()
        let m = try Self.ask(Self.engine(), snap, "www.conf.example.", .a)
        #expect(m.answer.map(\.type) == [.a, .rrsig])
        let sig = RRSIG(m.answer[1].rdata)
        #expect(sig.covered == RecordType.a.rawValue)
        #expect(sig.algorithm == 13 && sig.labels == 3 && sig.originalTTL == 3600 && m.answer[1].ttl == 3600)
        #expect(sig.keyTag == Self.key.keyTag && sig.signer == Self.n("conf.example.").wire)
        #expect(sig.inception == UInt32(Self.now - 3600) && sig.expiration == UInt32(Self.now + 7 * 86_400))
        // The signed data (RFC 4034 §3.1.8.1): the RDATA before the signature, then the RRset in canonical form.
        let data = Array(m.answer[1].rdata[0..<(m.answer[1].rdata.count - 64)]) + Self.n("www.conf.example.").wire
            + [0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 20]
        let pub = try P256.Signing.PublicKey(rawRepresentation: Self.key.publicKey)
        #expect(pub.isValidSignature(try P256.Signing.ECDSASignature(rawRepresentation: sig.signature), for: data))
    }

    @Test func withoutDOTheAnswerIsTheUnsignedServersByteForByte() throws {
        let signed = try Self.snapshot(), unsigned = try Self.snapshot(keys: [])
        for (name, type) in [("www.conf.example.", RecordType.a), ("nx.conf.example.", .a), ("www.conf.example.", .mx),
                             ("conf.example.", .ns)] {
            let a = try Self.ask(Self.engine(), signed, name, type, dnssec: false)
            let b = try Self.ask(Self.engine(), unsigned, name, type, dnssec: false)
            #expect("\(a)" == "\(b)", "\(name) \(type)")
        }
        // DNSKEY is part of the signed zone whatever DO says.
        let keys = try Self.ask(Self.engine(), signed, "conf.example.", .dnskey, dnssec: false)
        #expect(keys.answer.map(\.type) == [.dnskey] && keys.answer[0].rdata == Self.key.dnskeyRdata)
    }

    @Test func aNameThatDoesNotExistGetsCompactDenial() throws {
        let snap = try Self.snapshot()
        let m = try Self.ask(Self.engine(), snap, "nx.conf.example.", .a)
        #expect(m.rcode == .noError && m.answer.isEmpty)
        #expect(m.authority.map(\.type) == [.soa, .rrsig, .nsec, .rrsig])
        let nsec = m.authority[2]
        #expect(nsec.name == Self.n("nx.conf.example."))
        // Next name \000.nx.conf.example., types RRSIG NSEC NXNAME (RFC 9824 §3.1).
        #expect(nsec.rdata == [1, 0] + Self.n("nx.conf.example.").wire + AnswerEngine.typeBitmap([128]))
        #expect(AnswerEngine.typeBitmap([128]) == [0, 17, 0, 0, 0, 0, 0, 3] + [UInt8](repeating: 0, count: 10) + [0x80])
        #expect(nsec.ttl == 300)
        // DO=0: NXDOMAIN as before.
        #expect(try Self.ask(Self.engine(), snap, "nx.conf.example.", .a, dnssec: false).rcode == .nxDomain)
    }

    @Test func theNSECOfANameTooLongForAZeroLabelNamesItsImmediateSuccessorInTheZone() throws {
        // RFC 4471 §3.1.2: when `\000.name` would pass 255 octets, the successor appends a zero octet to the
        // first label, else increments the first label's last octet; never a name outside the zone.
        let snap = try Self.snapshot()
        let tail = [String](repeating: String(repeating: "m", count: 63), count: 3).joined(separator: ".") + ".conf.example."
        for (first, next) in [(String(repeating: "a", count: 47), String(repeating: "a", count: 47) + "\\000"),
                              (String(repeating: "a", count: 48), String(repeating: "a", count: 47) + "b")] {
            let name = Self.n(first + "." + tail)
            #expect(name.wire.count == (first.count == 47 ? 254 : 255))
            let m = try Self.ask(Self.engine(), snap, name.description, .a)
            #expect(m.rcode == .noError && m.authority.map(\.type) == [.soa, .rrsig, .nsec, .rrsig])
            #expect(m.authority[2].rdata == Self.n(next + "." + tail).wire + AnswerEngine.typeBitmap([128]), "\(first.count)")
        }
        // A last octet of 0xFF goes and the one before it is incremented (an upper-case result goes past 'Z');
        // a label of 0xFF octets alone goes for its parent's; past the apex's own labels, the apex.
        let rest = Self.n(tail).key
        let apex = Self.n("conf.example.").key
        #expect(AnswerEngine.successor([48] + [UInt8](repeating: 0x61, count: 46) + [0x40, 0xff] + rest, apex: apex)
                == [47] + [UInt8](repeating: 0x61, count: 46) + [0x5b] + rest)
        #expect(AnswerEngine.successor([48] + [UInt8](repeating: 0xff, count: 48) + rest, apex: apex)
                == Array(rest.prefix(63)) + [0x6e] + rest.dropFirst(64))
        let top = [UInt8](repeating: 0xff, count: 63)
        let all = [63] + top + [63] + top + [63] + top + [48] + [UInt8](repeating: 0xff, count: 48) + apex
        #expect(all.count == 255 && AnswerEngine.successor(all, apex: apex) == apex)
    }

    @Test func nodataListsTheTypesTheNameHas() throws {
        let snap = try Self.snapshot()
        let m = try Self.ask(Self.engine(), snap, "www.conf.example.", .mx)
        #expect(m.rcode == .noError && m.answer.isEmpty)
        #expect(m.authority.map(\.type) == [.soa, .rrsig, .nsec, .rrsig])
        #expect(m.authority[2].rdata == [1, 0] + Self.n("www.conf.example.").wire + AnswerEngine.typeBitmap([1, 28]))
        // At the apex: DNSKEY, CDS and CDNSKEY too.
        let apex = try Self.ask(Self.engine(), snap, "conf.example.", .srv)
        let types = Set([6, 2, 1, 28, 15, 16, 257, 48, 59, 60] as [UInt16])
        #expect(apex.authority[2].rdata == [1, 0] + Self.n("conf.example.").wire + AnswerEngine.typeBitmap(Array(types)))
    }

    @Test func signaturesAreCachedByContentAndRefreshedAtHalfTheirValidity() throws {
        let snap = try Self.snapshot()
        let e = Self.engine()
        _ = try Self.ask(e, snap, "www.conf.example.", .a)
        #expect(e.signatures.signed == 1)
        _ = try Self.ask(e, snap, "WWW.conf.example.", .a)
        #expect(e.signatures.signed == 1 && e.signatures.hits == 1)
        e.clock = { Self.now + SignatureCache.validity / 2 - 1 }
        _ = try Self.ask(e, snap, "www.conf.example.", .a)
        #expect(e.signatures.signed == 1)
        e.clock = { Self.now + SignatureCache.validity / 2 }
        let m = try Self.ask(e, snap, "www.conf.example.", .a)
        #expect(e.signatures.signed == 2)
        #expect(RRSIG(m.answer[1].rdata).inception == UInt32(Self.now + SignatureCache.validity / 2 - 3600))
    }

    @Test func theCacheStaysWithinItsBound() throws {
        let snap = try Self.snapshot()
        let cache = SignatureCache(maxEntries: 3)
        let signer = try #require(snap.signers.compactMap { $0 }.first)
        for i in 0..<10 {
            _ = cache.rrsigs(signer, signingOwner: try DomainName("n\(i).conf.example."), type: .a,
                             records: [EncodedRecord(type: .a, ttl: 60, rdata: [192, 0, 2, UInt8(i)])], now: Self.now)
        }
        #expect(cache.count == 3 && cache.signed == 10)
        let bytes = SignatureCache(maxEntries: 1000, maxBytes: 1024)
        for i in 0..<50 {
            _ = bytes.rrsigs(signer, signingOwner: try DomainName("n\(i).conf.example."), type: .a,
                             records: [EncodedRecord(type: .a, ttl: 60, rdata: [192, 0, 2, UInt8(i)])], now: Self.now)
        }
        #expect(bytes.bytes <= 1024 && bytes.count < 50)
    }

    @Test func anRRSetInAnyOrderIsOneCacheEntry() throws {
        let snap = try Self.snapshot()
        let cache = SignatureCache()
        let signer = try #require(snap.signers.compactMap { $0 }.first)
        let a = EncodedRecord(type: .a, ttl: 60, rdata: [192, 0, 2, 1]), b = EncodedRecord(type: .a, ttl: 60, rdata: [192, 0, 2, 2])
        let owner = try DomainName("pool.conf.example.")
        let one = cache.rrsigs(signer, signingOwner: owner, type: .a, records: [a, b], now: Self.now)
        let two = cache.rrsigs(signer, signingOwner: owner, type: .a, records: [b, a], now: Self.now)
        #expect(cache.signed == 1 && one[0].rdata == two[0].rdata)
    }

    @Test func rrsigsThatDoNotFitTruncateTheUDPAnswer() throws {
        let snap = try Self.snapshot()
        // big.conf.example. A fits a UDP limit a few octets over its unsigned size; with its RRSIG it does not.
        let q = QueryBuilder.make(id: 7, name: Self.n("big.conf.example."), type: .a, edns: (4096, false))
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { out.deallocate() }
        let unsignedSize = q.withUnsafeBytes { AnswerEngine().respond(to: $0, transport: .tcp, snapshot: snap, into: out) }
        try #require(unsignedSize > 512)
        let limited = AnswerEngine(maxUDPPayload: unsignedSize + 10)
        limited.clock = { Self.now }
        let plain = try Self.ask(limited, snap, "big.conf.example.", .a, dnssec: false, udpSize: 4096)
        #expect(!plain.tc && plain.answer.count > 10)
        let signed = try Self.ask(limited, snap, "big.conf.example.", .a, dnssec: true, udpSize: 4096)
        #expect(signed.tc && signed.answer.isEmpty && signed.authority.isEmpty)
        // Over TCP the whole signed RRset comes.
        let tcp = try Self.ask(limited, snap, "big.conf.example.", .a, transport: .tcp)
        #expect(!tcp.tc && tcp.answer.last?.type == .rrsig && tcp.answer.count == plain.answer.count + 1)
        // Optional additional addresses go with their RRSIGs, never without them.
        let ns = try Self.ask(Self.engine(), snap, "conf.example.", .ns, udpSize: 512)
        #expect(!ns.tc && ns.answer.map(\.type) == [.ns, .ns, .rrsig])
        for owner in Set(ns.additional.map(\.name)) {
            let types = ns.additional.filter { $0.name == owner }.map(\.type)
            #expect(types.contains(.rrsig), "\(owner): \(types)")
        }
    }

    @Test func aWildcardAnswerIsSignedAsTheWildcardAndProvesTheNameDoesNotExist() throws {
        let snap = try Self.snapshot()
        let zone = try String(contentsOf: GoldenAnswerTests.fixtures.appendingPathComponent("zones/conf.example.zone"), encoding: .utf8)
        try #require(zone.contains("*.wild"), "the fixture has a wildcard under wild.conf.example.")
        let m = try Self.ask(Self.engine(), snap, "x.y.wild.conf.example.", .a)
        #expect(m.answer.map(\.type) == [.a, .rrsig])
        #expect(RRSIG(m.answer[1].rdata).labels == 3)   // *.wild.conf.example. without the *
        #expect(m.authority.map(\.type) == [.nsec, .rrsig])
        // From x\255.wild (just before y.wild) to y\000.wild (just after y.wild and everything below it):
        // explicit.wild.conf.example. stays outside.
        #expect(m.authority[0].name.wire == [2, UInt8(ascii: "x"), 0xff] + Self.n("wild.conf.example.").wire)
        #expect(m.authority[0].rdata.starts(with: [2, UInt8(ascii: "y"), 0] + Self.n("wild.conf.example.").wire))
    }

    /// The odd questions in a signed zone: answered (no trap), with every RRset that carries an
    /// RRSIG covered by one of the zone's key.
    @Test(arguments: [("conf.example.", RecordType.ds), ("conf.example.", .rrsig), ("www.conf.example.", .nsec),
                      ("www.dn.conf.example.", .a), ("x.y.wild.conf.example.", .rrsig), ("sub.conf.example.", .ds)])
    func oddQuestionsInASignedZoneAreAnswered(name: String, type: RecordType) throws {
        let m = try Self.ask(Self.engine(), try Self.snapshot(), name, type)
        #expect(m.rcode == .noError || m.rcode == .nxDomain, "\(m)")
        for r in m.answer + m.authority + m.additional where r.type == .rrsig {
            #expect(RRSIG(r.rdata).keyTag == Self.key.keyTag && RRSIG(r.rdata).signature.count == 64)
        }
    }

    /// Every octet of DO=1 queries (a wildcard expansion, a nonexistent name, a referral) changed, and every
    /// cut of them, through a signing engine: never a trap, never more than the buffer, always a parsable reply.
    @Test func mangledDOQueriesNeverTrapASigningEngine() throws {
        let snap = try Self.snapshot()
        let e = Self.engine()
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { out.deallocate() }
        for name in ["x.y.wild.conf.example.", "nx.conf.example.", "www.sub.conf.example."] {
            let q = QueryBuilder.make(id: 7, name: Self.n(name), type: .a, edns: (1232, true),
                                      options: [QueryBuilder.clientSubnet(address: [192, 0, 2, 0], prefix: 24)])
            var cases: [[UInt8]] = (0..<q.count).map { Array(q[0..<$0]) }
            for i in 0..<q.count { for v: UInt8 in [0, 1, 0x3f, 0x80, 0xc0, 0xff] { var m = q; m[i] = v; cases.append(m) } }
            for c in cases {
                let n = c.withUnsafeBytes { e.respond(to: $0, transport: .udp, snapshot: snap, into: out) }
                #expect(n >= 0 && n <= 1232)
                if n > 0 { #expect((try? Message(bytes: Array(out[0..<n]))) != nil, "\(c)") }
            }
        }
        #expect(e.signatures.count <= SignatureCache.defaultMaxEntries)
    }
}

extension DNSSECAnswerTests {
    /// A CNAME pool's answer in a signed zone is signed online as a static CNAME's is: the same records and RRSIGs
    /// (signatures differ: ECDSA is randomised), the target's end of the chain proved the same way.
    @Test func aCNAMEPoolAnswerIsSignedAsTheStaticCNAMEToItsTargetIs() throws {
        let (zones, _) = ZoneDirectory.load(directory: GoldenAnswerTests.fixtures.appendingPathComponent("zones").path)
        for target in ["www.conf.example.", "nothere.conf.example.", "target.other.test."] {
            let pool = Pool(name: "pool.conf.example.", type: "CNAME", ttl: 3600, members: [Member(site: "a", address: target)])
            let pooled = try SnapshotBuilder().build(zones: zones, gslb: GSLBState(
                config: GSLBConfig(sites: [Site(name: "a")], pools: [pool]), dnssecKeys: [Self.key]))
            let withStatic = zones.map { z in
                z.origin == Self.n("conf.example.")
                    ? ZoneContent(origin: z.origin, records: z.records + [ResourceRecord(name: Self.n("pool.conf.example."), type: .cname,
                                                                                         ttl: 3600, rdata: Self.n(target).wire)], source: "memory")
                    : z
            }
            let plain = try SnapshotBuilder().build(zones: withStatic, gslb: GSLBState(dnssecKeys: [Self.key]))
            func shape(_ m: Message) -> [String] {
                (m.answer + m.authority).map { r in
                    let detail = r.type == .rrsig ? "covers \(RRSIG(r.rdata).covered)" : RDataText.format(type: r.type, rdata: r.rdata)
                    return "\(r.name) \(r.ttl) \(r.type) \(detail)"
                } + ["\(m.rcode) aa=\(m.aa)"]
            }
            for t in [RecordType.a, .aaaa, .cname, .txt] {
                let p = try Self.ask(Self.engine(), pooled, "pool.conf.example.", t)
                let s = try Self.ask(Self.engine(), plain, "pool.conf.example.", t)
                #expect(shape(p) == shape(s), "\(target) \(t)")
                #expect(p.answer.contains { $0.type == .rrsig && RRSIG($0.rdata).covered == RecordType.cname.rawValue }, "\(target) \(t)")
            }
        }
    }
}
