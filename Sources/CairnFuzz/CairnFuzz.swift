// CairnFuzz — libFuzzer target over the wire parser and the whole answer path (static zones and
// GSLB pools, with ECS), and over the config codec of `cairn apply` files and API bodies.
//
// An input whose first octet is even is a DNS message (`fuzzOne`); odd, the rest is a body for the
// config decoders (`FuzzBodies.fuzz`). See docs/fuzzing.md.
//
// Fuzz build (see scripts/fuzz and docs/fuzzing.md):
//   swift build --scratch-path .build-fuzz --product CairnFuzz -c debug \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DCAIRN_FUZZ
// Normal build: an `@main` that replays files (or directories of files) given as
// arguments through the same `fuzzInput`, or, with no arguments, 200,000 random and
// mutated inputs from a fixed seed. `--write-seeds DIR` / `--write-dict FILE` write
// the seed corpus / a libFuzzer dictionary (in the fuzz build: environment variables
// CAIRN_FUZZ_WRITE_SEEDS=DIR and CAIRN_FUZZ_WRITE_DICT=FILE, then exit).

import DNSWire
import Foundation
import GSLBCore

// MARK: - The zones, built in code once

enum FuzzZones {
    static func n(_ s: String) -> DomainName { try! DomainName(s) }
    static func rr(_ owner: String, _ type: RecordType, _ rdata: [UInt8], ttl: UInt32 = 300) -> ResourceRecord {
        ResourceRecord(name: n(owner), type: type, ttl: ttl, rdata: rdata)
    }
    static func a(_ s: String) -> [UInt8] { IPAddressText.parseIPv4(s)! }
    static func aaaa(_ s: String) -> [UInt8] { IPAddressText.parseIPv6(s)! }
    static func name(_ s: String) -> [UInt8] { n(s).wire }
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
    static func mx(_ pref: UInt16, _ s: String) -> [UInt8] { u16(pref) + name(s) }
    static func txt(_ strings: [String]) -> [UInt8] {
        strings.flatMap { s -> [UInt8] in let b = Array(s.utf8.prefix(255)); return [UInt8(b.count)] + b }
    }
    static func soa(_ mname: String, _ rname: String, serial: UInt32) -> [UInt8] {
        name(mname) + name(rname) + u32(serial) + u32(3600) + u32(900) + u32(604800) + u32(300)
    }

    /// fuzz.example.: every lookup feature of the engine (the GSLB pools are in FuzzPools).
    static func main() -> ZoneContent {
        let o = "fuzz.example."
        var r: [ResourceRecord] = [
            rr(o, .soa, soa("ns1.fuzz.example.", "hostmaster.fuzz.example.", serial: 2024010101), ttl: 3600),
            rr(o, .ns, name("ns1.fuzz.example.")),
            rr(o, .ns, name("ns2.fuzz.example.")),
            rr(o, .ns, name("ns.other.test.")),
            rr(o, .a, a("192.0.2.10")),
            rr(o, .aaaa, aaaa("2001:db8::10")),
            rr(o, .mx, mx(10, "mail.fuzz.example.")),
            rr(o, .mx, mx(20, "mail.other.test.")),
            rr(o, .txt, txt(["v=spf1 -all"])),
            rr(o, .caa, [0, 5] + Array("issue".utf8) + Array("ca.example".utf8)),
            rr("ns1.fuzz.example.", .a, a("192.0.2.1")),
            rr("ns1.fuzz.example.", .aaaa, aaaa("2001:db8::1")),
            rr("ns2.fuzz.example.", .a, a("192.0.2.2")),
            rr("mail.fuzz.example.", .a, a("192.0.2.25")),
            rr("www.fuzz.example.", .a, a("192.0.2.80")),
            rr("www.fuzz.example.", .a, a("192.0.2.81")),
            rr("www.fuzz.example.", .aaaa, aaaa("2001:db8::80")),
            rr("MiXeD.CaSe.fuzz.example.", .a, a("192.0.2.99")),
            rr("txt.fuzz.example.", .txt, txt(["one", "two", "three"])),
            rr("txt.fuzz.example.", .txt, txt(["second record"])),
            rr("_sip._tcp.fuzz.example.", .srv, u16(10) + u16(5) + u16(5060) + name("www.fuzz.example.")),
            rr("ptr.fuzz.example.", .ptr, name("www.fuzz.example.")),
            rr("hinfo.fuzz.example.", .hinfo, txt(["PC", "Linux"])),
            rr("unknown.fuzz.example.", RecordType(65280), [1, 2, 3, 4, 5]),
            rr("a.b.c.ent.fuzz.example.", .a, a("192.0.2.7")),   // empty non-terminals above
            // CNAME chain, loop, self loop, across zones, out of every zone, dangling.
            rr("c1.fuzz.example.", .cname, name("c2.fuzz.example.")),
            rr("c2.fuzz.example.", .cname, name("C3.Fuzz.Example.")),
            rr("c3.fuzz.example.", .cname, name("www.fuzz.example.")),
            rr("loop1.fuzz.example.", .cname, name("loop2.fuzz.example.")),
            rr("loop2.fuzz.example.", .cname, name("loop3.fuzz.example.")),
            rr("loop3.fuzz.example.", .cname, name("loop1.fuzz.example.")),
            rr("self.fuzz.example.", .cname, name("self.fuzz.example.")),
            rr("ext.fuzz.example.", .cname, name("www.other.test.")),
            rr("out.fuzz.example.", .cname, name("www.nowhere.invalid.")),
            rr("dangling.fuzz.example.", .cname, name("nothing.fuzz.example.")),
            rr("towild.fuzz.example.", .cname, name("x.w.fuzz.example.")),
            rr("todname.fuzz.example.", .cname, name("www.dname.fuzz.example.")),
            rr("tobig.fuzz.example.", .cname, name("big.fuzz.example.")),
            // Into the GSLB pools: a CNAME to a pool, a DNAME over the pools' subtree.
            rr("topool.fuzz.example.", .cname, name("p-closest.gslb.fuzz.example.")),
            rr("tofallback.fuzz.example.", .cname, name("down-pool.gslb.fuzz.example.")),
            rr("dpool.fuzz.example.", .dname, name("gslb.fuzz.example.")),
            // Wildcards: data, CNAME, a CNAME back into itself, an explicit name beside it.
            rr("*.w.fuzz.example.", .a, a("192.0.2.50")),
            rr("*.w.fuzz.example.", .txt, txt(["wild"])),
            rr("*.w.fuzz.example.", .mx, mx(5, "mail.fuzz.example.")),
            rr("explicit.w.fuzz.example.", .aaaa, aaaa("2001:db8::50")),
            rr("*.wc.fuzz.example.", .cname, name("www.fuzz.example.")),
            rr("*.wl.fuzz.example.", .cname, name("again.wl.fuzz.example.")),
            rr("*.deep.w2.fuzz.example.", .a, a("192.0.2.51")),
            // DNAME: to another served zone, to a long target (YXDOMAIN), into its own subtree, out of zone.
            rr("dname.fuzz.example.", .dname, name("other.test.")),
            rr("dlong.fuzz.example.", .dname,
               name(String(repeating: "l", count: 60) + "." + String(repeating: "m", count: 60) + "." +
                    String(repeating: "n", count: 60) + ".fuzz.example.")),
            rr("dloop.fuzz.example.", .dname, name("x.dloop.fuzz.example.")),
            rr("dout.fuzz.example.", .dname, name("nowhere.invalid.")),
            rr("dname.fuzz.example.", .a, a("192.0.2.39")),
            // Delegation with in-domain glue, out-of-domain NS, DS at the cut.
            rr("deleg.fuzz.example.", .ns, name("ns1.deleg.fuzz.example.")),
            rr("deleg.fuzz.example.", .ns, name("ns2.deleg.fuzz.example.")),
            rr("deleg.fuzz.example.", .ns, name("ns.other.test.")),
            rr("deleg.fuzz.example.", .ds, u16(12345) + [8, 2] + [UInt8](repeating: 0xab, count: 32)),
            rr("ns1.deleg.fuzz.example.", .a, a("192.0.2.53")),
            rr("ns1.deleg.fuzz.example.", .aaaa, aaaa("2001:db8::53")),
            rr("ns2.deleg.fuzz.example.", .a, a("192.0.2.54")),
            rr("below.deleg.fuzz.example.", .a, a("192.0.2.55")),   // occluded
            // The child zone sub.fuzz.example. is also served (parent side: NS + DS + glue).
            rr("sub.fuzz.example.", .ns, name("ns.sub.fuzz.example.")),
            rr("sub.fuzz.example.", .ds, u16(54321) + [13, 2] + [UInt8](repeating: 0xcd, count: 32)),
            rr("ns.sub.fuzz.example.", .a, a("192.0.2.60")),
        ]
        // A big RRset that truncates over UDP (100 A = 1,600+ octets), a TXT set over 1232.
        for i in 0..<100 { r.append(rr("big.fuzz.example.", .a, [198, 51, 100, UInt8(i)])) }
        for i in 0..<8 {
            r.append(rr("bigtxt.fuzz.example.", .txt, txt([String(repeating: Character(Unicode.Scalar(UInt8(97 + i))), count: 200)])))
        }
        // More than 64 KiB: truncated even over TCP.
        for i in 0..<300 {
            r.append(rr("huge.fuzz.example.", .txt, txt(["\(i)" + String(repeating: "h", count: 240)])))
        }
        // A delegation whose required in-domain glue does not fit in 512 octets.
        for i in 0..<13 {
            let ns = "ns\(i).bigdeleg.fuzz.example."
            r.append(rr("bigdeleg.fuzz.example.", .ns, name(ns)))
            r.append(rr(ns, .a, a("192.0.2.\(100 + i)")))
            r.append(rr(ns, .aaaa, aaaa("2001:db8::\(100 + i)")))
        }
        // A delegation to in-zone but out-of-domain servers: their addresses are optional
        // and dropped when they do not fit.
        for i in 0..<20 {
            r.append(rr("manyns.fuzz.example.", .ns, name("glue\(i).fuzz.example.")))
            r.append(rr("glue\(i).fuzz.example.", .a, a("192.0.2.\(200 + i)")))
            r.append(rr("glue\(i).fuzz.example.", .aaaa, aaaa("2001:db8:1::\(i)")))
        }
        // Out-of-zone and non-IN records, which the builder must ignore.
        r.append(rr("www.elsewhere.invalid.", .a, a("192.0.2.200")))
        var chaos = rr("chaos.fuzz.example.", .txt, txt(["ch"]))
        chaos.rclass = RecordClass.ch
        r.append(chaos)
        return ZoneContent(origin: n(o), records: r, source: "fuzz")
    }

    /// sub.fuzz.example.: a served child zone (parent side is in `main`).
    static func sub() -> ZoneContent {
        let o = "sub.fuzz.example."
        return ZoneContent(origin: n(o), records: [
            rr(o, .soa, soa("ns.sub.fuzz.example.", "hostmaster.sub.fuzz.example.", serial: 7)),
            rr(o, .ns, name("ns.sub.fuzz.example.")),
            rr("ns.sub.fuzz.example.", .a, a("192.0.2.60")),
            rr("www.sub.fuzz.example.", .a, a("192.0.2.61")),
            rr("up.sub.fuzz.example.", .cname, name("c1.fuzz.example.")),
        ], source: "fuzz-sub")
    }

    /// other.test.: target of DNAME and cross-zone CNAMEs.
    static func other() -> ZoneContent {
        let o = "other.test."
        return ZoneContent(origin: n(o), records: [
            rr(o, .soa, soa("ns.other.test.", "hostmaster.other.test.", serial: 1)),
            rr(o, .ns, name("ns.other.test.")),
            rr("ns.other.test.", .a, a("192.0.2.150")),
            rr("www.other.test.", .a, a("192.0.2.151")),
            rr("www.other.test.", .txt, txt(["other"])),
            rr("mail.other.test.", .a, a("192.0.2.152")),
            rr("back.other.test.", .cname, name("c1.fuzz.example.")),
            rr("viad.other.test.", .cname, name("www.dname.fuzz.example.")),
            rr("*.other.test.", .txt, txt(["other wildcard"])),
        ], source: "fuzz-other")
    }

    static func build() -> ServingSnapshot {
        do {
            return try SnapshotBuilder().build(zones: [main(), sub(), other()], gslb: FuzzPools.state(), now: 1000)
        } catch {
            fatalError("CairnFuzz: snapshot build failed: \(error)")
        }
    }
}

// MARK: - Global state (built once; libFuzzer runs inputs on one thread)

nonisolated(unsafe) var fuzzSnapshot: ServingSnapshot = FuzzZones.build()
nonisolated(unsafe) let fuzzEngine = AnswerEngine()
nonisolated(unsafe) let fuzzOut = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)

// MARK: - One input

/// Writes to standard error (fd 2; the C `stderr` global is not concurrency-safe in Swift 6).
func eprint(_ s: String) { try? FileHandle.standardError.write(contentsOf: Data(s.utf8)) }

func hex(_ b: UnsafeRawBufferPointer) -> String { b.map { String(format: "%02x", $0) }.joined() }

/// One exchange under check: what a violated invariant prints beside its message.
struct Exchange {
    let input: UnsafeRawBufferPointer
    let transport: AnswerEngine.Transport
    var response: UnsafeRawBufferPointer?

    func violated(_ what: String) -> Never {
        var msg = "CairnFuzz invariant violated: \(what)\ntransport: \(transport)\n"
        msg += "input (\(input.count)): \(hex(input))\n"
        if let r = response {
            msg += "response (\(r.count)): \(hex(r))\n"
            if let m = try? Message(buffer: r) { msg += m.description }
        }
        eprint(msg + "\n")
        fatalError(what)
    }
}

/// The lowercased RDATA of each record of the RRset the snapshot holds for `owner`/`type`,
/// taking wildcards and the parent side of a served child's apex into account.
func expectedSets(owner: DomainName, type: RecordType) -> [Set<[UInt8]>] {
    func set(_ s: RRSet?) -> Set<[UInt8]>? {
        guard let s else { return nil }
        return Set(s.records.map { DomainName.lowercased($0.rdata) })
    }
    var out: [Set<[UInt8]>] = []
    if let node = fuzzSnapshot.node(for: owner) {
        if let s = set(node.rrset(type)) { out.append(s) }
        if let s = set(node.parentSide?.rrset(type)) { out.append(s) }
        return out
    }
    // Closest existing ancestor, then its wildcard.
    var n = owner
    while !n.isRoot {
        n = n.parent
        if let e = fuzzSnapshot.node(for: n) {
            if let s = set(e.wildcard?.rrset(type)) { out.append(s) }
            break
        }
    }
    return out
}

/// A CNAME synthesized from a DNAME above `owner` (RFC 6672 §2.2).
func isSynthesizedCNAME(owner: DomainName, rdata: Set<[UInt8]>) -> Bool {
    guard rdata.count == 1, let only = rdata.first else { return false }
    var n = owner
    while !n.isRoot {
        n = n.parent
        if let node = fuzzSnapshot.node(for: n), let d = node.rrset(.dname), let drr = d.records.first,
           let target = ResourceRecord(name: n, type: .dname, ttl: drr.ttl, rdata: drr.rdata).target,
           let synthesized = owner.replacingSuffix(n, with: target),
           DomainName.lowercased(synthesized.wire) == only {
            return true
        }
    }
    return false
}

/// Checks every section of an untruncated response: each RRset (owner, type) holds
/// the whole RRset of the zone data (or is a DNAME-synthesized CNAME).
func checkComplete(_ section: [ResourceRecord], name: String, _ x: Exchange) {
    guard !section.isEmpty else { return }
    var groups: [DomainName: [RecordType: Set<[UInt8]>]] = [:]
    var raw: [DomainName: [RecordType: [[UInt8]]]] = [:]   // as sent: addresses must not be case-folded
    for rr in section {
        groups[rr.name, default: [:]][rr.type, default: []].insert(DomainName.lowercased(rr.rdata))
        raw[rr.name, default: [:]][rr.type, default: []].append(rr.rdata)
    }
    for (owner, byType) in groups {
        for (type, got) in byType {
            // A pool's answer: addresses of its members (or of the pools it falls back to), each once.
            if let allowed = FuzzPools.allowedAddresses(owner: owner, type: type, snapshot: fuzzSnapshot) {
                let sent = raw[owner]?[type] ?? []
                if !Set(sent).isSubset(of: allowed) {
                    x.violated("\(name) RRset \(owner) \(type) holds an address that is no member of the pool or its fallbacks")
                }
                if Set(sent).count != sent.count {
                    x.violated("\(name) RRset \(owner) \(type) of a pool repeats an address")
                }
                continue
            }
            let expected = expectedSets(owner: owner, type: type)
            if expected.contains(got) { continue }
            if type == .cname && isSynthesizedCNAME(owner: owner, rdata: got) { continue }
            let have = expected.map { "\($0.count)" }.joined(separator: "/")
            x.violated("TC=0 but \(name) RRset \(owner) \(type) is incomplete or unknown: \(got.count) records, zone has [\(have)]")
        }
    }
}

/// One fuzz input: a DNS message when the first octet is even, else a body for the config decoders.
func fuzzInput(_ input: UnsafeRawBufferPointer) {
    if let first = input.first, first & 1 == 1 {
        FuzzBodies.fuzz(UnsafeRawBufferPointer(rebasing: input[1...]))
    } else {
        fuzzOne(input)
    }
}

/// Checks the ECS option of a response against the query's (RFC 7871 §7.2.1): echoed family, source
/// prefix and address; a scope within the source prefix, and non-zero only when an ECS-enabled pool
/// answered (TC clear, NOERROR).
func checkECS(_ m: Message, query: ClientSubnet?, _ x: Exchange) {
    let options = m.ednsOptions.filter { $0.code == 8 }
    guard let opt = options.first else { return }
    guard options.count == 1, let q = query else {
        x.violated("response has \(options.count) ECS options; query's: \(query.map { "\($0)" } ?? "none")")
    }
    let d = opt.data
    let n = (Int(q.sourcePrefix) + 7) / 8
    guard d.count == 4 + n, UInt16(d[0]) << 8 | UInt16(d[1]) == q.family, d[2] == q.sourcePrefix,
          Array(d[4...]) == Array(q.address.prefix(n)) else {
        x.violated("ECS option not echoed: sent \(q), got \(d)")
    }
    let scope = d[3]
    if scope > q.sourcePrefix {
        x.violated("ECS scope \(scope) > source prefix \(q.sourcePrefix)")
    }
    if scope > 0, !m.tc, m.rcode == .noError {
        let fromECSPool = m.answer.contains { rr in
            (rr.type == .a || rr.type == .aaaa) && fuzzSnapshot.pool(name: rr.name, type: rr.type)?.pool.ecs == true
        }
        if !fromECSPool {
            x.violated("ECS scope \(scope) but no ECS-enabled pool answered")
        }
    }
}

/// Runs one input through the parser, `Message(buffer:)` and the answer engine
/// (UDP and TCP), and checks the invariants listed in docs/fuzzing.md.
func fuzzOne(_ input: UnsafeRawBufferPointer) {
    // (4) Full message decoder on arbitrary bytes: must not trap.
    _ = try? Message(buffer: input)

    // (1) The query parser.
    let outcome = QueryParser.parse(input)
    var question: Query?
    var dropped = false
    switch outcome {
    case .drop: dropped = true
    case let .error(_, _, _, q): question = q
    case let .query(q): question = q
    }
    let edns = question?.edns
    // The source address (pools without ECS, or queries without it) comes from the ID's low octet.
    let client = input.count >= 2 ? FuzzPools.clients[Int(input[1]) % FuzzPools.clients.count] : .unknown

    // (2) + (3) The answer path, both transports.
    for transport in [AnswerEngine.Transport.udp, .tcp] {
        var x = Exchange(input: input, transport: transport)
        let n = fuzzEngine.respond(to: input, transport: transport, snapshot: fuzzSnapshot, client: client, into: fuzzOut)
        guard n >= 0, n <= fuzzOut.count else { x.violated("response length \(n) outside the buffer") }
        if n == 0 {
            if !dropped { x.violated("no response to a message the parser did not drop") }
            continue
        }
        let resp = UnsafeRawBufferPointer(rebasing: fuzzOut[0..<n])
        x.response = resp
        if dropped { x.violated("parser says drop but a response was written") }

        // Size limits.
        switch transport {
        case .tcp:
            if n > 65535 { x.violated("TCP response of \(n) octets > 65535") }
        case .udp:
            let limit = edns.map { max(512, min(Int($0.udpSize), fuzzEngine.maxUDPPayload)) } ?? 512
            if n > limit {
                x.violated("UDP response of \(n) octets > \(limit) (query OPT: \(edns.map { "udp \($0.udpSize)" } ?? "none"))")
            }
        }

        let m: Message
        do { m = try Message(buffer: resp) } catch {
            x.violated("response does not parse: \(error)")
        }
        let id = UInt16(input[0]) << 8 | UInt16(input[1])
        if m.id != id { x.violated("response ID \(m.id) != query ID \(id)") }
        if !m.qr { x.violated("QR=0 in a response") }
        if let q = question {
            guard m.questions.count == 1, m.questions[0].name.wire == q.qname.wire,
                  m.questions[0].type == q.qtype, m.questions[0].qclass == q.qclass else {
                x.violated("question not echoed as sent")
            }
        }
        if edns != nil, m.opt == nil, !(m.rcode == .formErr || m.rcode == .notImp) {
            // Every answer to a query with a parsed OPT carries an OPT.
            x.violated("query had OPT, response (\(m.rcode)) has none")
        }
        checkECS(m, query: edns?.clientSubnet, x)
        if !m.tc {
            for (name, section) in [("answer", m.answer), ("authority", m.authority), ("additional", m.additional)] {
                checkComplete(section, name: name, x)
            }
        }
    }
}

// MARK: - Seeds and dictionary

enum Seeds {
    static let names = [
        "fuzz.example.", "www.fuzz.example.", "WwW.FuZz.ExAmPlE.", "mail.fuzz.example.", "txt.fuzz.example.",
        "c1.fuzz.example.", "loop1.fuzz.example.", "self.fuzz.example.", "ext.fuzz.example.", "out.fuzz.example.",
        "dangling.fuzz.example.", "towild.fuzz.example.", "todname.fuzz.example.", "tobig.fuzz.example.",
        "x.w.fuzz.example.", "explicit.w.fuzz.example.", "a.b.w.fuzz.example.", "y.wc.fuzz.example.",
        "z.wl.fuzz.example.", "q.deep.w2.fuzz.example.", "www.dname.fuzz.example.", "a.b.dlong.fuzz.example.",
        "x.dloop.fuzz.example.", "a.dout.fuzz.example.", "deleg.fuzz.example.", "www.deleg.fuzz.example.",
        "sub.fuzz.example.", "www.sub.fuzz.example.", "up.sub.fuzz.example.", "big.fuzz.example.",
        "bigtxt.fuzz.example.", "huge.fuzz.example.", "bigdeleg.fuzz.example.", "x.bigdeleg.fuzz.example.",
        "manyns.fuzz.example.", "a.manyns.fuzz.example.",
        "ent.fuzz.example.", "c.ent.fuzz.example.", "nx.fuzz.example.", "_sip._tcp.fuzz.example.",
        "other.test.", "back.other.test.", "viad.other.test.", "nope.other.test.", "www.nowhere.invalid.", ".",
    ]
    static let types: [RecordType] = [.a, .aaaa, .ns, .soa, .mx, .txt, .cname, .dname, .ds, .any, .srv, .ptr, .caa,
                                      .axfr, .ixfr, .opt, RecordType(65280)]

    /// A few hundred valid queries: each name with a rotating type, transport-independent
    /// EDNS variants (none, 512, 1232, 4096+DO, ECS, cookie, NSID, version 1), opcodes, classes.
    static func all() -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        for s in names {
            let name = FuzzZones.n(s)
            for k in 0..<4 {
                let t = types[(i + k * 5) % types.count]
                let id = UInt16(truncatingIfNeeded: 0x1000 + i * 7 + k)
                switch k {
                case 0: out.append(QueryBuilder.make(id: id, name: name, type: t))
                case 1: out.append(QueryBuilder.make(id: id, name: name, type: t, rd: true, edns: (1232, false)))
                case 2:
                    out.append(QueryBuilder.make(id: id, name: name, type: t, edns: (4096, true),
                                                 options: [QueryBuilder.clientSubnet(address: [192, 0, 2, 1], prefix: 24)]))
                default:
                    out.append(QueryBuilder.make(id: id, name: name, type: t, edns: (512, false),
                                                 options: [(10, [1, 2, 3, 4, 5, 6, 7, 8]), (3, [])]))
                }
            }
            i += 1
        }
        let www = FuzzZones.n("www.fuzz.example.")
        out.append(QueryBuilder.make(name: www, type: .a, qclass: RecordClass.any))
        out.append(QueryBuilder.make(name: www, type: .a, qclass: RecordClass.ch))
        out.append(QueryBuilder.make(name: www, type: .a, edns: (0, false)))
        out.append(QueryBuilder.make(name: www, type: .a, edns: (1232, false),
                                     options: [QueryBuilder.clientSubnet(address: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 12), prefix: 56)]))
        var badvers = QueryBuilder.make(name: www, type: .a, edns: (1232, false))
        badvers[badvers.count - 6] = 1   // EDNS version 1
        out.append(badvers)
        var notify = QueryBuilder.make(name: FuzzZones.n("fuzz.example."), type: .soa)
        notify[2] = 0x20                 // opcode NOTIFY
        out.append(notify)
        var update = QueryBuilder.make(name: FuzzZones.n("fuzz.example."), type: .soa)
        update[2] = 0x28                 // opcode UPDATE
        out.append(update)
        // A compressed QNAME (pointer back into the header is invalid; into the question is not possible,
        // so a name after the question pointing at it, as an OPT owner would, exercises readName).
        var comp = QueryBuilder.make(name: www, type: .a)
        comp[11] = 1
        comp += [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]
        out.append(comp)
        out += poolSeeds()
        // DNS inputs start with an even octet (odd ones go to the body decoders).
        out = out.map { var b = $0; if !b.isEmpty { b[0] &= 0xfe }; return b }
        return out + FuzzBodies.seeds()
    }

    /// The names that reach a pool: each pool, a CNAME to one, a DNAME over them.
    static var poolNames: [String] {
        FuzzPools.names + ["topool.fuzz.example.", "tofallback.fuzz.example.", "p-closest.dpool.fuzz.example.",
                           "p-weighted.dpool.fuzz.example.", "P-CLOSEST.gslb.FUZZ.example.", "gslb.fuzz.example.",
                           "nx.gslb.fuzz.example.", "b.new.fuzz.example."]
    }

    /// ECS options: valid (IPv4 and IPv6, /0 to full length, matching each kind of topology entry) and
    /// malformed (family 0 and 3, source prefix past the address bits, scope set, wrong address length,
    /// bits set past the prefix).
    static let ecsOptions: [(code: UInt16, data: [UInt8])] = [
        QueryBuilder.clientSubnet(address: [203, 0, 113, 9], prefix: 24),
        QueryBuilder.clientSubnet(address: [198, 51, 100, 200], prefix: 32),
        QueryBuilder.clientSubnet(address: [198, 51, 100, 129], prefix: 25),
        QueryBuilder.clientSubnet(address: [10, 9, 8, 7], prefix: 8),
        QueryBuilder.clientSubnet(address: [100, 64, 1, 1], prefix: 12),
        QueryBuilder.clientSubnet(address: [0, 0, 0, 0], prefix: 0),
        QueryBuilder.clientSubnet(address: [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0x80, 0] + [UInt8](repeating: 0, count: 8), prefix: 56),
        QueryBuilder.clientSubnet(address: [0x20, 0x01, 0x0d, 0xb8, 0, 2] + [UInt8](repeating: 0, count: 10), prefix: 48),
        QueryBuilder.clientSubnet(address: [0xfd] + [UInt8](repeating: 1, count: 15), prefix: 128),
        QueryBuilder.clientSubnet(address: [UInt8](repeating: 0, count: 16), prefix: 0),
        (8, [0, 0, 24, 0, 192, 0, 2]),                  // family 0
        (8, [0, 3, 24, 0, 192, 0, 2]),                  // family 3
        (8, [0, 1, 33, 0, 192, 0, 2, 1, 0]),            // IPv4 /33
        (8, [0, 2, 129, 0] + [UInt8](repeating: 0x20, count: 17)),   // IPv6 /129
        (8, [0, 1, 24, 24, 203, 0, 113]),               // scope set in a query
        (8, [0, 1, 24, 0, 203, 0, 113, 5]),             // address longer than the prefix
        (8, [0, 1, 23, 0, 203, 0, 113]),                // a bit set past the prefix
        (8, [0, 1, 0]),                                 // too short
    ]

    /// Pool names with A, AAAA and ANY, without EDNS, with EDNS, and with each ECS option.
    static func poolSeeds() -> [[UInt8]] {
        var out: [[UInt8]] = []
        var id: UInt16 = 0x4000
        for s in poolNames {
            let name = FuzzZones.n(s)
            for t in [RecordType.a, .aaaa, .any] {
                id &+= 2
                out.append(QueryBuilder.make(id: id, name: name, type: t))
                out.append(QueryBuilder.make(id: id &+ 0x0101, name: name, type: t, edns: (1232, false)))
            }
            for (k, e) in ecsOptions.enumerated() {
                id &+= 2
                let t: RecordType = e.data.count > 1 && e.data[1] == 2 ? .aaaa : .a
                out.append(QueryBuilder.make(id: id &+ UInt16(k), name: name, type: t, rd: true, edns: (4096, k % 3 == 0),
                                             options: [e]))
            }
        }
        // Two ECS options; ECS with a cookie and NSID.
        let p = FuzzZones.n("p-closest.gslb.fuzz.example.")
        out.append(QueryBuilder.make(name: p, type: .a, edns: (1232, false), options: [ecsOptions[0], ecsOptions[1]]))
        out.append(QueryBuilder.make(name: p, type: .a, edns: (1232, false),
                                     options: [ecsOptions[2], (10, [1, 2, 3, 4, 5, 6, 7, 8]), (3, [])]))
        return out
    }

    /// Wire-form labels and names of the zones, plus header/OPT fragments.
    static func dictionary() -> [String] {
        var entries: Set<String> = []
        func esc(_ b: [UInt8]) -> String {
            "\"" + b.map { x -> String in
                if x >= 0x20 && x < 0x7f && x != 0x22 && x != 0x5c { return String(Unicode.Scalar(x)) }
                return String(format: "\\x%02x", x)
            }.joined() + "\""
        }
        for s in names + poolNames {
            let w = FuzzZones.n(s).wire
            entries.insert(esc(w))
            var i = 0
            while w[i] != 0 { let l = Int(w[i]); entries.insert(esc(Array(w[i...(i + l)]))); i += l + 1 }
        }
        for t in types { entries.insert(esc([UInt8(t.rawValue >> 8), UInt8(t.rawValue & 0xff), 0, 1])) }
        entries.insert(esc([0, 0, 41, 4, 0xd0, 0, 0, 0x80, 0]))           // OPT header, 1232, DO
        entries.insert(esc([0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2]))         // ECS 192.0.2/24
        entries.insert(esc([0, 10, 0, 8]))                                // cookie option header
        entries.insert(esc([0, 3, 0, 0]))                                 // NSID
        entries.insert(esc([0xc0, 0x0c]))                                 // pointer to the QNAME
        entries.insert(esc([0, 1, 0, 0, 0, 0, 0, 0]))                     // QD=1 AN=0 NS=0 AR=0
        entries.insert(esc([0, 1, 0, 0, 0, 0, 0, 1]))                     // QD=1 AR=1
        entries.insert(esc([0, 8, 0, 11, 0, 2, 56, 0]))                   // ECS IPv6 /56 header
        entries.insert(esc([0, 8, 0, 4, 0, 1, 0, 0]))                     // ECS IPv4 /0
        for e in ecsOptions { entries.insert(esc(e.data)) }
        for b in FuzzBodies.dictionary { entries.insert(esc(Array(b.utf8))) }
        return entries.sorted().enumerated().map { "kw\($0.offset)=\($0.element)" }
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) -> Bool {
        if FileManager.default.createFile(atPath: path, contents: Data(bytes)) { return true }
        eprint("cannot write \(path)\n")
        return false
    }

    static func writeSeeds(to dir: String) -> Int32 {
        mkdir(dir, 0o755)
        let seeds = all()
        for (i, s) in seeds.enumerated() {
            guard writeFile(dir + "/seed-" + String(format: "%04d", i), s) else { return 1 }
        }
        eprint("CairnFuzz: wrote \(seeds.count) seeds to \(dir)\n")
        return 0
    }

    static func writeDictionary(to path: String) -> Int32 {
        let d = dictionary()
        guard writeFile(path, Array((d.joined(separator: "\n") + "\n").utf8)) else { return 1 }
        eprint("CairnFuzz: wrote \(d.count) dictionary entries to \(path)\n")
        return 0
    }
}

#if CAIRN_FUZZ

// MARK: - libFuzzer entry points

@_cdecl("LLVMFuzzerInitialize")
public func cairnFuzzInitialize(_ argc: UnsafeMutablePointer<CInt>?,
                                _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    var wrote = false
    if let dir = getenv("CAIRN_FUZZ_WRITE_SEEDS") {
        if Seeds.writeSeeds(to: String(cString: dir)) != 0 { exit(1) }
        wrote = true
    }
    if let file = getenv("CAIRN_FUZZ_WRITE_DICT") {
        if Seeds.writeDictionary(to: String(cString: file)) != 0 { exit(1) }
        wrote = true
    }
    if wrote { exit(0) }
    _ = fuzzSnapshot.nameCount   // build the snapshot before the first input
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func cairnFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzInput(UnsafeRawBufferPointer(start: size > 0 ? data : nil, count: size))
    return 0
}

/// libFuzzer's driver (compiler-rt FuzzerDriver.cpp, `extern "C"`); takes pointers and returns int,
/// which the Swift and C calling conventions pass identically on the supported targets.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links executable targets with `main` aliased to `<module>_main` (the entry point it
/// renames for testability), so without `@main` this symbol must exist: it hands over to libFuzzer.
@_cdecl("CairnFuzz_main")
public func cairnFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v) { data, size in cairnFuzzTestOneInput(data, size) }
}

#else

// MARK: - Replay / random driver for normal builds

extension SplitMix64 {
    /// 0..<n by modulo (0 for n <= 1): the driver's inputs stay those of its fixed seed.
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
}

/// The files of a directory, by path, sorted; nil when `path` is not a directory.
func listDirectory(_ path: String) -> [String]? {
    (try? FileManager.default.contentsOfDirectory(atPath: path))?.sorted().map { path + "/" + $0 }
}

func mutate(_ base: [UInt8], _ rng: inout SplitMix64, pool: [[UInt8]]) -> [UInt8] {
    var b = base
    for _ in 0...rng.below(4) {
        switch rng.below(8) {
        case 0 where !b.isEmpty: b[rng.below(b.count)] ^= UInt8(1 << rng.below(8))
        case 1 where !b.isEmpty: b[rng.below(b.count)] = UInt8(truncatingIfNeeded: rng.next())
        case 2: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(b.count + 1))
        case 3 where !b.isEmpty: b.remove(at: rng.below(b.count))
        case 4 where !b.isEmpty: b.removeLast(rng.below(b.count) + 1)
        case 5:
            let other = pool[rng.below(pool.count)]
            let cut = rng.below(b.count + 1), from = rng.below(other.count + 1)
            b = Array(b[0..<cut]) + Array(other[from...])
        case 6 where b.count >= 12:
            // Interesting header values: counts, flags.
            let at = [2, 3, 5, 7, 9, 11][rng.below(6)]
            b[at] = [0, 1, 2, 0x80, 0xff, 0x7f, 0x20, 0x28][rng.below(8)]
        case 7 where !b.isEmpty:
            // A compression pointer somewhere.
            let at = rng.below(b.count)
            b[at] = 0xc0 | UInt8(rng.below(4))
            if at + 1 < b.count { b[at + 1] = UInt8(truncatingIfNeeded: rng.below(b.count)) }
        default: break
        }
    }
    return b
}

@main
struct CairnFuzzMain {
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        var status: Int32 = 0
        let writers: [(String, (String) -> Int32)] = [("--write-seeds", Seeds.writeSeeds), ("--write-dict", Seeds.writeDictionary)]
        for (flag, write) in writers where args.first == flag && args.count >= 2 {
            status |= write(args[1])
            args.removeFirst(2)
            if args.isEmpty { exit(status) }
        }
        if args.first == "-h" || args.first == "--help" {
            print("usage: CairnFuzz [FILE|DIR ...] | --write-seeds DIR | --write-dict FILE")
            print("  no arguments: 200,000 random and mutated inputs from a fixed seed")
            return
        }
        if !args.isEmpty {
            var count = 0
            for a in args {
                for path in listDirectory(a) ?? [a] {
                    guard let bytes = FileManager.default.contents(atPath: path).map(Array.init) else { eprint("cannot read \(path)\n"); exit(2) }
                    bytes.withUnsafeBytes { fuzzInput($0) }
                    count += 1
                }
            }
            print("CairnFuzz: replayed \(count) inputs, invariants hold")
            return
        }
        var rng = SplitMix64(seed: 0xCA12_F022)
        let seeds = Seeds.all()
        var pool = seeds
        let total = 200_000
        for i in 0..<total {
            let input: [UInt8]
            switch i % 8 {
            case 0:
                input = (0..<rng.below(96)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 1:
                input = seeds[rng.below(seeds.count)]
            default:
                input = mutate(pool[rng.below(pool.count)], &rng, pool: pool)
                if pool.count < 4096, rng.below(16) == 0 { pool.append(input) }
            }
            input.withUnsafeBytes { fuzzInput($0) }
        }
        print("CairnFuzz: \(total) random/mutated inputs (seed 0xCA12F022), invariants hold")
    }
}

#endif
