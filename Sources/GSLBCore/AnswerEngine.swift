import DNSWire
import Foundation

/// Turns one query packet into one response packet, reading only an immutable
/// `ServingSnapshot`. One engine per worker thread: it owns a writer and scratch
/// space reused across queries. No locks, no I/O, no logging.
public final class AnswerEngine {
    public enum Transport: Sendable { case udp, tcp }

    /// Largest UDP response we send, whatever the client advertises (RFC 9715 / DNS flag day 2020).
    public var maxUDPPayload: Int
    /// The EDNS UDP payload size we advertise.
    public var advertisedUDPPayload: UInt16

    let writer = MessageWriter()
    /// Counts by transport, type and RCODE, and pool answers: drained by the engine's owner.
    public let tally = QueryTally()
    /// The RCODE of the response being written (for the tally).
    private var lastRcode: UInt16 = 0

    struct Item {
        let owner: DomainName
        let records: ArraySlice<EncodedRecord>
        /// The zone whose keys sign this RRset in a DO=1 answer; nil when it is not signed (a referral's
        /// NS set, a DNAME's synthesized CNAME).
        var zone: ZoneHead? = nil
        /// The name the RRset is signed over when not `owner`: the wildcard that answered.
        var signedOwner: DomainName? = nil
        /// Only the RRset's RRSIGs are written, not the RRset (the answer to a DO=1 query for type RRSIG).
        var signaturesOnly = false
        /// A pool's answer (then `records` is empty): its addresses are written from the pool's packed
        /// members, its records made only when signed.
        var picked: PoolDecision? = nil

        var rrset: ArraySlice<EncodedRecord> { picked?.records ?? records }
    }
    /// The signer's own RRsets at a signed apex, whose RRSIGs a type-RRSIG query there gets (made once, not per query).
    static let apexKeyTypes: [RecordType] = [.dnskey, .cds, .cdnskey]
    var answer: [Item] = []
    var authority: [Item] = []
    private var additional: [AdditionalData] = []
    /// The zone whose keys sign the additional section's addresses (an apex NS set's), nil for none (glue).
    private var additionalZone: ZoneHead? = nil
    /// This query asked for DNSSEC records (DO=1) and the snapshot signs some zone.
    var dnssec = false
    /// The RRSIGs this engine made, by RRset content (one cache per engine: no lock on the query path).
    public let signatures = SignatureCache()
    private var visited: [ArraySlice<UInt8>] = []
    /// ECS scope of the current answer (0 unless a client-dependent pool answered).
    private var ecsScope = 0
    private var client = ClientAddress.unknown
    public var rng: SplitMix64
    public var roundRobinCounter: UInt64 = 0
    /// NSID and the CH TXT names (`ServerIdentity`); none by default.
    public let identity: ServerIdentity
    /// The NSID option as written (code, length, value), or empty.
    private let nsidOption: [UInt8]
    /// DNS cookies (RFC 7873/9018), nil when off: a query's COOKIE option gets one back.
    public let cookies: ServerCookies?
    /// Whether the last query returned a valid server cookie (a client that has talked to us from its
    /// address before, so not a spoofed source).
    public private(set) var lastCookieValid = false
    /// Seconds since the epoch; read only to answer a TSIG-signed query or a COOKIE (injected in tests).
    public var clock: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }
    /// Response rate limiting of UDP responses (shared by the workers), nil when off or over TCP.
    public let rateLimiter: ResponseRateLimiter?
    /// Limited responses of this engine so far: every `slip`th is sent truncated.
    private var limitedCount = 0
    /// What the response is about, for its RRL bucket (`RRLClass`): the zone apex (NXDOMAIN,
    /// NODATA, errors), the delegation point of a referral, the wildcard that answered.
    private var rrlZone: [UInt8] = []
    /// The zone the query's name is in (nil: outside every zone, or no question), for the per-zone counters.
    /// Not retained (no reference counting per query): the snapshot being answered from keeps it alive.
    private unowned(unsafe) var queryZone: ZoneHead?
    private var rrlReferral: [UInt8]?
    private var rrlWildcard: [UInt8]?

    /// How the response being written is signed (RFC 8945 §5.3): set only for a signed query whose key
    /// and MAC verified, nil for every other query.
    struct Signing {
        let key: TSIGKey
        let keyName: [UInt8]
        let requestMAC: [UInt8]
        let timeSigned: UInt64
        let fudge: UInt16
        let error: UInt16
        let otherData: [UInt8]
        /// Octets of the TSIG record: kept free while the response is written.
        var recordSize: Int { keyName.count + 10 + key.algorithm.wireName.count + 16 + key.algorithm.macSize + otherData.count }
    }
    private var signing: Signing?
    /// Fudge of signed answers (seconds), as NSD and BIND.
    static let tsigFudge: UInt16 = 300

    public init(maxUDPPayload: Int = 1232, seed: UInt64? = nil, identity: ServerIdentity = .none,
                cookies: ServerCookies? = nil, rateLimiter: ResponseRateLimiter? = nil) {
        self.identity = identity
        self.cookies = cookies
        self.rateLimiter = rateLimiter
        self.nsidOption = identity.nsid.map { [0, 3, UInt8($0.count >> 8), UInt8($0.count & 0xff)] + $0 } ?? []
        var sys = SystemRandomNumberGenerator()
        self.rng = SplitMix64(seed: seed ?? sys.next())
        self.maxUDPPayload = max(512, min(maxUDPPayload, 65535))
        self.advertisedUDPPayload = UInt16(self.maxUDPPayload)
        answer.reserveCapacity(8)
        authority.reserveCapacity(4)
        additional.reserveCapacity(16)
        visited.reserveCapacity(8)
    }

    /// Writes the response to `packet` into `out`; returns its length, 0 for no reply.
    public func respond(to packet: UnsafeRawBufferPointer, transport: Transport, snapshot: ServingSnapshot,
                        client: ClientAddress = .unknown, into out: UnsafeMutableRawBufferPointer) -> Int {
        self.client = client
        self.ecsScope = 0
        self.lastCookieValid = false
        self.signing = nil
        switch QueryParser.parse(packet) {
        case .drop:
            tally.countDropped(transport)
            return 0
        case let .error(rcode, id, flags, question):
            var n = writeError(rcode, id: id, flags: flags, query: question, transport: transport, out: out)
            if transport == .udp, let rrl = rateLimiter, n > 0 {
                n = limit(n, rrl, class: rcode == .nxDomain ? .nxdomain : .error, name: [], out: out)
                if n == 0 { return 0 }
            }
            tally.count(transport, qtype: question?.qtype.rawValue, rcode: rcode.rawValue, size: n)
            return n
        case let .query(q):
            rrlZone = []
            queryZone = nil
            rrlReferral = nil
            rrlWildcard = nil
            answer.removeAll(keepingCapacity: true)
            var n = answer(q, packet: packet, transport: transport, snapshot: snapshot, out: out)
            if transport == .udp, let rrl = rateLimiter, n > 0 {
                let (c, name) = rrlClass(q)
                n = limit(n, rrl, class: c, name: name, out: out)
                if n == 0 { return 0 }
            }
            tally.count(transport, qtype: q.qtype.rawValue, rcode: lastRcode, size: n)
            if let z = queryZone { tally.countZone(z, transport) }
            return n
        }
    }

    /// The RRL class of the response just written, and the name its bucket is keyed with (NSD's
    /// `rrl_classify`: the first that applies, in this order).
    @inline(__always)
    func rrlClass(_ q: Query) -> (RRLClass, [UInt8]) {
        if lastRcode == ResponseCode.nxDomain.rawValue { return (.nxdomain, rrlZone) }
        if lastRcode != 0 { return (.error, rrlZone) }
        if let r = rrlReferral { return (.referral, r) }
        if q.qtype.rawValue == 255 { return (.any, q.qname.key) }
        if q.qtype == .rrsig { return (.rrsig, q.qname.key) }
        if let w = rrlWildcard { return (.wildcard, w) }
        if answer.isEmpty { return (.nodata, rrlZone) }
        if q.qtype == .dnskey { return (.dnskey, q.qname.key) }
        return (.positive, q.qname.key)
    }

    /// Applies RRL to the UDP response of `length` octets in `out`: the length to send, 0 to drop it.
    /// Over the limit and not exempt (valid server cookie, `--rrl-exempt` network), every `slip`th
    /// response goes out truncated (TC=1, question only, as NSD's `rrl_slip`) and the others are dropped.
    @inline(__always)
    func limit(_ length: Int, _ rrl: ResponseRateLimiter, class c: RRLClass, name: [UInt8],
               out: UnsafeMutableRawBufferPointer) -> Int {
        if rrl.admit(client: client, class: c, name: name) { return length }
        if lastCookieValid {
            tally.countRRLExempt(cookie: true)
            return length
        }
        if rrl.isExempt(client) {
            tally.countRRLExempt(cookie: false)
            return length
        }
        limitedCount &+= 1
        let slip = rrl.configuration.slip
        guard slip > 0, slip == 1 || limitedCount % slip == 0 else {
            tally.countRRLLimited(slip: false, class: c)
            return 0
        }
        tally.countRRLLimited(slip: true, class: c)
        return Self.truncateToQuestion(out, length: length)
    }

    /// Cuts a written response to its header and question, TC set, every other count zero.
    static func truncateToQuestion(_ out: UnsafeMutableRawBufferPointer, length: Int) -> Int {
        guard length >= 12 else { return length }
        out[2] |= 0x02
        for i in 6..<12 { out[i] = 0 }
        guard out[4] == 0 && out[5] == 1 else {
            out[4] = 0; out[5] = 0
            return 12
        }
        // The question's name is the first in the message, so never compressed.
        var i = 12
        while i < length, out[i] != 0 { i += Int(out[i]) + 1 }
        guard i + 5 <= length else {
            out[4] = 0; out[5] = 0
            return 12
        }
        return i + 5
    }

    @inline(__always)
    func sizeLimit(_ q: Query?, _ transport: Transport) -> Int {
        if transport == .tcp { return 65535 }
        guard let e = q?.edns else { return 512 }
        return max(512, min(Int(e.udpSize), maxUDPPayload))
    }

    func optOptions(_ q: Query) -> [UInt8] {
        let nsid = (q.edns?.nsidRequested == true ? nsidOption : []) + cookieOption(q)
        guard let ecs = q.edns?.clientSubnet else { return nsid }
        // RFC 7871 §7.2.1: echo the option; scope 0 unless the answer depended on the client
        // (then the prefix length of the topology entry that decided, never past the source).
        let payload = ecs.wire(scope: UInt8(min(ecsScope, Int(ecs.sourcePrefix))))
        return [0, 8, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)] + payload + nsid
    }

    /// The COOKIE option of the response (RFC 7873 §5.2): the client cookie and our server cookie,
    /// when cookies are on and the query had a (well-formed: the parser FORMERRs the rest) COOKIE.
    func cookieOption(_ q: Query) -> [UInt8] {
        guard let cookies, let c = q.edns?.cookie else { return [] }
        let r = cookies.respond(to: c, client: client, now: UInt32(truncatingIfNeeded: clock()))
        lastCookieValid = r.valid
        return [0, 10, UInt8(r.value.count >> 8), UInt8(r.value.count & 0xff)] + r.value
    }

    func responseFlags(_ queryFlags: UInt16, rcode: ResponseCode, aa: Bool = false, tc: Bool = false) -> UInt16 {
        var f: UInt16 = 0x8000 | (queryFlags & 0x7800) | (queryFlags & 0x0100)
        if aa { f |= 0x0400 }
        if tc { f |= 0x0200 }
        return f | (rcode.rawValue & 0xF)
    }

    func writeError(_ rcode: ResponseCode, id: UInt16, flags: UInt16, query: Query?, transport: Transport,
                    out: UnsafeMutableRawBufferPointer) -> Int {
        lastRcode = rcode.rawValue
        let limit = sizeLimit(query, transport)
        writer.reset(buffer: out, limit: limit - (signing?.recordSize ?? 0))
        writer.header(id: id, flags: responseFlags(flags, rcode: rcode))
        var qd = 0
        if let q = query, writer.question(q.qname, type: q.qtype.rawValue, qclass: q.qclass) { qd = 1 }
        var ar = 0
        if let q = query, let e = q.edns {
            // NSID in error responses too, as NSD (an operator debugging a REFUSED wants to know who said it).
            if writer.opt(udpSize: advertisedUDPPayload, extendedRcode: UInt8(rcode.rawValue >> 4), dnssecOK: e.dnssecOK,
                          options: (e.nsidRequested ? nsidOption : []) + cookieOption(q)) { ar = 1 }
        }
        writer.setCounts(qd: qd, an: 0, ns: 0, ar: ar)
        return finish(limit: limit, out: out)
    }

    func answer(_ q: Query, packet: UnsafeRawBufferPointer, transport: Transport, snapshot: ServingSnapshot,
                out: UnsafeMutableRawBufferPointer) -> Int {
        if q.opcode != Opcode.query {
            // Not a secondary: NOTIFY is refused (as NSD does); other opcodes are not implemented.
            let rc: ResponseCode = q.opcode == Opcode.notify ? .refused : .notImp
            return writeError(rc, id: q.id, flags: q.flags, query: q, transport: transport, out: out)
        }
        if let t = q.tsig {
            // RFC 8945 §5.2, before BADVERS, class and zone checks, as NSD. From here on every response
            // to a verified query is signed (`finish`).
            let now = clock()
            switch snapshot.tsigKeys.check(t, query: packet, now: now) {
            case .formErr:
                return writeError(.formErr, id: q.id, flags: q.flags, query: q, transport: transport, out: out)
            case .unsigned(let error):
                return writeTSIGError(q, t, error: error, transport: transport, out: out)
            case .badTime(let key):
                // §5.2.3: signed, Time Signed the request's (as BIND), the server's time in Other Data.
                signing = Signing(key: key, keyName: t.keyName.key, requestMAC: t.mac, timeSigned: t.timeSigned,
                                  fudge: t.fudge, error: TSIGError.badTime, otherData: TSIGDigest.time48(now))
                return writeError(.notAuth, id: q.id, flags: q.flags, query: q, transport: transport, out: out)
            case .valid(let key):
                signing = Signing(key: key, keyName: t.keyName.key, requestMAC: t.mac, timeSigned: now,
                                  fudge: Self.tsigFudge, error: 0, otherData: [])
            }
        }
        if let e = q.edns, e.version > 0 {
            return writeError(.badVers, id: q.id, flags: q.flags, query: q, transport: transport, out: out)
        }
        if q.qclass == 3, (q.qtype == .txt || q.qtype.rawValue == 255), let text = identity.chaosText(q.qname) {
            return writeChaosTXT(q, text: text, transport: transport, out: out)
        }
        if q.qclass != RecordClass.in && q.qclass != RecordClass.any {
            return writeError(.refused, id: q.id, flags: q.flags, query: q, transport: transport, out: out)
        }
        if q.qtype == .axfr || q.qtype == .ixfr {
            return writeError(.refused, id: q.id, flags: q.flags, query: q, transport: transport, out: out)
        }

        authority.removeAll(keepingCapacity: true)
        additional.removeAll(keepingCapacity: true)
        visited.removeAll(keepingCapacity: true)
        additionalZone = nil
        dnssec = snapshot.signs && q.edns?.dnssecOK == true
        let (rcode, aaResult) = lookup(q, snapshot: snapshot)
        if rcode == .refused && answer.isEmpty {
            return writeError(.refused, id: q.id, flags: q.flags, query: q, transport: transport, out: out)
        }
        // QCLASS ANY: data is IN, but not authoritative for "any class" (as NSD does).
        let aa = aaResult && q.qclass == RecordClass.in
        return encode(q, rcode: rcode, aa: aa, transport: transport, snapshot: snapshot, out: out)
    }

    /// NOTAUTH with an unsigned TSIG record carrying `error` (RFC 8945 §5.2, §5.3.2): the query's key
    /// and algorithm names (lower-cased, never compressed), Time Signed = now, the query's fudge,
    /// MAC size 0, the query's original ID, no other data. The question is left out only when it
    /// would not fit beside the TSIG (NSD never sends it in error responses).
    func writeTSIGError(_ q: Query, _ t: TSIGInfo, error: UInt16, transport: Transport,
                        out: UnsafeMutableRawBufferPointer) -> Int {
        lastRcode = ResponseCode.notAuth.rawValue
        let limit = min(sizeLimit(q, transport), out.count)
        let options = (q.edns?.nsidRequested == true ? nsidOption : []) + cookieOption(q)
        let optSize = q.edns == nil ? 0 : 11 + options.count
        let tsigSize = t.keyName.key.count + 10 + t.algorithm.key.count + 16
        writer.reset(buffer: out, limit: limit)
        writer.header(id: q.id, flags: responseFlags(q.flags, rcode: .notAuth))
        var qd = 0
        if 12 + q.qname.wire.count + 4 + optSize + tsigSize <= limit,
           writer.question(q.qname, type: q.qtype.rawValue, qclass: q.qclass) { qd = 1 }
        var ar = 0
        if let e = q.edns, writer.opt(udpSize: advertisedUDPPayload, extendedRcode: 0, dnssecOK: e.dnssecOK, options: options) {
            ar += 1
        }
        if writer.hasRoom(tsigSize) {
            // MAC size 0: unsigned.
            writeTSIGRecord(keyName: t.keyName.key, algorithm: t.algorithm.key, timeSigned: clock(), fudge: t.fudge, mac: [],
                            originalID: t.originalID, error: error, otherData: [])
            ar += 1
        }
        writer.setCounts(qd: qd, an: 0, ns: 0, ar: ar)
        return writer.position
    }

    /// One TSIG record (RFC 8945 §4.2): owner and algorithm names uncompressed, class ANY, TTL 0.
    /// The caller made sure it fits.
    func writeTSIGRecord(keyName: [UInt8], algorithm: [UInt8], timeSigned: UInt64, fudge: UInt16, mac: [UInt8],
                         originalID: UInt16, error: UInt16, otherData: [UInt8]) {
        _ = writer.bytes(keyName)
        writer.u16(RecordType.tsig.rawValue)
        writer.u16(RecordClass.any)
        writer.u32(0)
        writer.u16(UInt16(algorithm.count + 16 + mac.count + otherData.count))
        _ = writer.bytes(algorithm)
        writer.u16(UInt16(truncatingIfNeeded: timeSigned >> 32))
        writer.u32(UInt32(truncatingIfNeeded: timeSigned))
        writer.u16(fudge)
        writer.u16(UInt16(mac.count))
        _ = writer.bytes(mac)
        writer.u16(originalID)
        writer.u16(error)
        writer.u16(UInt16(otherData.count))
        _ = writer.bytes(otherData)
    }

    /// Ends a response: unsigned, as written; for a verified signed query, the TSIG record is appended
    /// in the room kept for it (RFC 8945 §5.3: the MAC covers the request's MAC, the response as
    /// written and the TSIG variables) and ARCOUNT counts it. `limit` is the response's size limit.
    @inline(__always)
    func finish(limit: Int, out: UnsafeMutableRawBufferPointer) -> Int {
        guard let s = signing else { return writer.position }
        let length = writer.position
        let mac = TSIGDigest.response(UnsafeRawBufferPointer(rebasing: out[0..<length]), requestMAC: s.requestMAC, key: s.key,
                                      keyName: s.keyName, timeSigned: s.timeSigned, fudge: s.fudge, error: s.error,
                                      otherData: s.otherData)
        writer.limit = min(limit, out.count)
        guard writer.hasRoom(s.recordSize) else { return length }
        let id = UInt16(out[0]) << 8 | UInt16(out[1])
        writeTSIGRecord(keyName: s.keyName, algorithm: s.key.algorithm.wireName, timeSigned: s.timeSigned, fudge: s.fudge,
                        mac: mac, originalID: id, error: s.error, otherData: s.otherData)
        writer.patch16(at: 10, (UInt16(out[10]) << 8 | UInt16(out[11])) + 1)
        return writer.position
    }

    /// `id.server.` (etc.) CH TXT: NOERROR, not authoritative, one TXT record, TTL 0 (as NSD answers them).
    func writeChaosTXT(_ q: Query, text: String, transport: Transport, out: UnsafeMutableRawBufferPointer) -> Int {
        lastRcode = 0
        let limit = sizeLimit(q, transport)
        writer.reset(buffer: out, limit: limit - (signing?.recordSize ?? 0))
        writer.header(id: q.id, flags: responseFlags(q.flags, rcode: .noError))
        guard writer.question(q.qname, type: q.qtype.rawValue, qclass: q.qclass) else { return 0 }
        let value = Array(text.utf8.prefix(255))
        var an = 0
        if writer.hasRoom(2 + 10 + 1 + value.count) {
            writer.u16(0xC00C)   // the question's name
            writer.u16(RecordType.txt.rawValue)
            writer.u16(3)
            writer.u32(0)
            writer.u16(UInt16(1 + value.count))
            writer.u8(UInt8(value.count))
            _ = writer.bytes(value)
            an = 1
        }
        var ar = 0
        if let e = q.edns, writer.opt(udpSize: advertisedUDPPayload, extendedRcode: 0, dnssecOK: e.dnssecOK,
                                      options: (e.nsidRequested ? nsidOption : []) + cookieOption(q)) { ar = 1 }
        writer.setCounts(qd: 1, an: an, ns: 0, ar: ar)
        return finish(limit: limit, out: out)
    }

    /// RFC 1034 §4.3.2 with wildcards (RFC 4592), DNAME (RFC 6672), CNAME chains
    /// across served zones, referrals. Fills answer/authority/additional.
    func lookup(_ q: Query, snapshot: ServingSnapshot) -> (ResponseCode, Bool) {
        var name = q.qname
        var aa = true
        var first = true
        var steps = 0
        while steps < 16 {
            steps += 1
            // Closest node: the name itself, else its nearest existing ancestor.
            var key = name.key[...]
            var exact = true
            var found: ZoneNode?
            if let e = snapshot.layerEntry(forKey: key) {
                if e.plain, let k = ServingSnapshot.slotPoolIndex(q.qtype),
                   let pool = e.selector(k) ?? snapshot.selector(inSlot: e.poolSlot, q.qtype) {
                    // A pool name with no cut or DNAME above it: what the steps below decide for it (an exact
                    // match, answered by its pool: of the query's type, else a CNAME pool, which is alone at its
                    // name), from the layer's slot without reading the node.
                    let zone = e.zone.takeUnretainedValue()
                    if first { queryZone = zone }
                    if rateLimiter != nil { rrlZone = zone.origin.key }
                    if visited.contains(where: { $0 == name.key[...] }) { return (.noError, aa) }
                    visited.append(name.key[...])
                    switch answerFromPool(pool, q, name: name, data: e.node, dataZone: zone, encloser: e.node, zone: zone,
                                  expanded: nil, snapshot: snapshot) {
                    case .done(let rcode): return (rcode, aa)
                    case .chase(let target):
                        name = target
                        first = false
                        continue
                    }
                }
                found = e.node.takeUnretainedValue()
            } else {
                found = snapshot.index[NameKey(key)]
            }
            while found == nil && key.count > 1 {
                key = key[(key.startIndex + Int(key[key.startIndex]) + 1)...]
                exact = false
                found = snapshot.node(forKey: key)
            }
            guard var node = found else {
                // Outside every served zone: REFUSED at the start, else the chain simply ends here.
                return (first ? .refused : .noError, aa)
            }
            if exact && q.qtype == .ds, let p = node.parentSide { node = p }
            let zone = node.zone
            if first { queryZone = zone }
            // RFC 9824 §3.5: NXNAME is a meta-type; an explicit query for it is a format error.
            if q.qtype.rawValue == Self.nxname, snapshot.signer(zone) != nil { return (.formErr, aa) }
            if rateLimiter != nil { rrlZone = zone.origin.key }

            var cut = node.cut
            if exact && q.qtype == .ds && cut === node { cut = nil }
            let dname: ZoneNode? = exact ? node.dnameAbove : (node.rrset(.dname) != nil ? (node.dnameAbove ?? node) : node.dnameAbove)

            if let c = cut, dname == nil || c.labelCount <= dname!.labelCount, let ns = c.rrset(.ns) {
                // Referral (RFC 1034 §4.3.2 step 3b): not authoritative unless a CNAME led here.
                if first { aa = false }
                if rateLimiter != nil { rrlReferral = c.name.key }
                authority.append(Item(owner: c.name, records: ns.records))
                if dnssec, snapshot.signer(c.zone) != nil {
                    // RFC 4035 §3.1.4: the DS set, signed, or the NSEC proving there is none.
                    if let ds = c.rrset(.ds) {
                        authority.append(Item(owner: c.name, records: ds.records, zone: c.zone))
                    } else {
                        authority.append(nsec(at: c.name, zone: c.zone, ttl: zone.negativeSOA.ttl,
                                              types: typesAt(c, snapshot: snapshot)))
                    }
                }
                additional.append(contentsOf: ns.additional)
                return (.noError, aa)
            }
            if let d = dname, let dset = d.rrset(.dname), let drr = dset.records.first {
                answer.append(Item(owner: d.name, records: dset.records, zone: d.zone))
                guard let target = drr.target,
                      let newName = name.replacingSuffix(d.name, with: target) else {
                    return (.yxDomain, aa)
                }
                answer.append(Item(owner: name, records: [EncodedRecord(type: .cname, ttl: drr.ttl, rdata: newName.wire)]))
                // The synthesized CNAME answers a CNAME question (RFC 6672 §3.1): its target is not
                // chased, so no NODATA SOA or NXDOMAIN from there (as NSD).
                if q.qtype == .cname { return (.noError, aa) }
                name = newName
                first = false
                continue
            }

            let data: ZoneNode
            if exact {
                data = node
            } else if let w = node.wildcard {
                data = w
                if rateLimiter != nil { rrlWildcard = w.name.key }
            } else {
                authority.append(Item(owner: zone.origin, records: zone.negativeSOASet[...], zone: node.zone))
                if dnssec, snapshot.signer(node.zone) != nil {
                    // Compact denial (RFC 9824): NOERROR, an NSEC at the name with only RRSIG, NSEC, NXNAME.
                    let proof = nsec(at: name, zone: node.zone, ttl: zone.negativeSOA.ttl, types: [Self.nxname])
                    if answerDNSSECType(q.qtype, proof: proof) {
                        authority.removeLast()   // a positive answer (type NSEC or RRSIG): no negative SOA
                    } else {
                        authority.append(proof)
                    }
                    return (.noError, aa)
                }
                return (.nxDomain, aa)
            }
            // The wildcard that answers (RFC 4592), whose expansion a DO=1 answer proves.
            let expanded = exact ? nil : data.name
            if visited.contains(where: { $0 == name.key[...] }) { return (.noError, aa) }
            visited.append(name.key[...])

            // A CNAME pool answers every type (no other data is at its name), as a static CNAME does.
            if data.poolSlot >= 0, let pool = q.qtype == .any ? snapshot.firstPool(at: data)
                : snapshot.pool(at: data, q.qtype) ?? snapshot.pool(at: data, .cname) {
                switch answerFromPool(pool.packed, q, name: name, data: .passUnretained(data), dataZone: data.zone, encloser: .passUnretained(node),
                              zone: zone, expanded: expanded, snapshot: snapshot) {
                case .done(let rcode): return (rcode, aa)
                case .chase(let target):
                    name = target
                    first = false
                    continue
                }
            }
            if q.qtype == .any {
                // RFC 8482: one RRset (SOA at the apex, else the first), or the CNAME.
                if let s = data.rrset(.cname) ?? data.rrset(.soa) ?? data.rrsets.first {
                    answer.append(Item(owner: name, records: s.records, zone: data.zone, signedOwner: expanded))
                    proveExpansion(expanded, name: name, encloser: node, zone: zone, snapshot: snapshot)
                } else {
                    nodata(name, data, qtype: q.qtype, zone: zone, snapshot: snapshot)
                }
                return (.noError, aa)
            }
            if q.qtype == .dnskey || q.qtype == .cds || q.qtype == .cdnskey, let signer = snapshot.signer(data.zone),
               data.labelCount == zone.origin.labelCount, let records = signer.apexRecords(q.qtype) {
                // The keys of a signed zone are the store's, whatever its file says (DO or not).
                answer.append(Item(owner: name, records: records[...], zone: data.zone))
                return (.noError, aa)
            }
            if dnssec, q.qtype == .nsec || q.qtype == .rrsig, let signer = snapshot.signer(data.zone) {
                // The NSEC this name has in its denials, and the RRSIGs of its RRsets (docs/dnssec.md).
                let proof = nsec(at: name, zone: data.zone, ttl: zone.negativeSOA.ttl, types: typesAt(data, snapshot: snapshot))
                if q.qtype == .rrsig {
                    for s in data.rrsets {
                        answer.append(Item(owner: name, records: s.records, zone: data.zone, signedOwner: expanded, signaturesOnly: true))
                    }
                    if data.labelCount == zone.origin.labelCount {
                        for t in Self.apexKeyTypes {
                            if let r = signer.apexRecords(t), !r.isEmpty {
                                answer.append(Item(owner: name, records: r[...], zone: data.zone, signaturesOnly: true))
                            }
                        }
                    }
                }
                _ = answerDNSSECType(q.qtype, proof: proof)
                return (.noError, aa)
            }
            if let s = data.rrset(q.qtype) {
                answer.append(Item(owner: name, records: s.records, zone: data.zone, signedOwner: expanded))
                proveExpansion(expanded, name: name, encloser: node, zone: zone, snapshot: snapshot)
                if q.qtype == .ns {
                    additional.append(contentsOf: s.additional)
                    additionalZone = data.zone
                }
                return (.noError, aa)
            }
            if let c = data.rrset(.cname), let crr = c.records.first {
                answer.append(Item(owner: name, records: c.records, zone: data.zone, signedOwner: expanded))
                proveExpansion(expanded, name: name, encloser: node, zone: zone, snapshot: snapshot)
                guard let target = crr.target else {
                    return (.noError, aa)
                }
                name = target
                first = false
                continue
            }
            // NODATA (RFC 2308 §2.2).
            nodata(name, data, qtype: q.qtype, zone: zone, snapshot: snapshot)
            return (.noError, aa)
        }
        return (.noError, aa)
    }

    /// What a pool's answer leaves `lookup` to do: return, or chase a CNAME pool's target.
    enum PoolStep {
        case done(ResponseCode)
        case chase(DomainName)
    }

    /// The answer at `name` of the pool whose primary selector is `pool`; `name`'s node is `data` (in
    /// `dataZone`; the wildcard that matched when `expanded` is set, below `encloser`). The nodes are read
    /// only for a NODATA answer or a wildcard's proof, the pool object only when its selector does not decide.
    @inline(__always)
    func answerFromPool(_ pool: PackedSelector, _ q: Query, name: DomainName, data: Unmanaged<ZoneNode>, dataZone: ZoneHead,
                encloser: Unmanaged<ZoneNode>, zone: ZoneHead, expanded: DomainName?, snapshot: ServingSnapshot) -> PoolStep {
        let net = clientNetwork(q, useECS: pool.ecs)
        let d = PoolRuntime.select(pool, client: net, rng: &rng, counter: &roundRobinCounter)
        tally.countPool(d, fallbackSlot: d.fallback ? pool.runtime.fallbackSlot : nil, layout: snapshot.tallyLayout)
        // The scope speaks of the ECS subnet only when that subnet decided; along a chain of pools
        // (a CNAME pool to a pool), the narrowest subnet any of them depended on.
        if net?.fromECS == true { ecsScope = max(ecsScope, d.scope) }
        if d.servfail { return .done(.servFail) }
        if d.count == 0 {
            nodata(name, data.takeUnretainedValue(), qtype: q.qtype, zone: zone, snapshot: snapshot)
            return .done(.noError)
        }
        answer.append(Item(owner: name, records: [], zone: dataZone, signedOwner: expanded, picked: d))
        if expanded != nil {
            proveExpansion(expanded, name: name, encloser: encloser.takeUnretainedValue(), zone: zone, snapshot: snapshot)
        }
        // The chosen target is chased as a static CNAME's is, unless the CNAME is the answer.
        if pool.type == .cname, q.qtype != .cname, q.qtype != .any, let target = d.record(0).target {
            return .chase(target)
        }
        return .done(.noError)
    }

    /// The network a GSLB decision is made for: the ECS subnet when sent, else the source address.
    @inline(__always)
    func clientNetwork(_ q: Query, useECS: Bool) -> ClientNetwork? {
        if useECS, let e = q.edns?.clientSubnet, let a = ClientAddress(bytes: e.address) {
            return ClientNetwork(address: a, prefix: Int(e.sourcePrefix), fromECS: true)
        }
        guard client.family != 0 else { return nil }
        return ClientNetwork(address: client, prefix: client.maxPrefix, fromECS: false)
    }

    func encode(_ q: Query, rcode: ResponseCode, aa: Bool, transport: Transport, snapshot: ServingSnapshot,
                out: UnsafeMutableRawBufferPointer) -> Int {
        lastRcode = rcode.rawValue
        let limit = sizeLimit(q, transport)
        let options = optOptions(q)
        let optSize = q.edns == nil ? 0 : 11 + options.count
        // A signed answer keeps room for its TSIG; one that does not fit is truncated and still signed
        // (RFC 8945 §5.3.1, as NSD).
        let reserve = signing?.recordSize ?? 0
        writer.reset(buffer: out, limit: limit - optSize - reserve)
        writer.header(id: q.id, flags: responseFlags(q.flags, rcode: rcode, aa: aa))
        var truncated = !writer.question(q.qname, type: q.qtype.rawValue, qclass: q.qclass)
        var an = 0, ns = 0, ar = 0
        let now = dnssec ? clock() : 0
        if !truncated {
            outer: for item in answer {
                let signer = dnssec ? snapshot.signer(item.zone) : nil
                if let d = item.picked, signer == nil {
                    guard d.write(owner: item.owner, into: writer, written: &an) else { truncated = true; break outer }
                    continue
                }
                let records = item.rrset
                for r in records where !item.signaturesOnly {
                    guard writer.record(owner: item.owner, r) else { truncated = true; break outer }
                    an += 1
                }
                if let signer {
                    guard let n = writeRRSIGs(item.owner, records, signer, signedOwner: item.signedOwner, now: now) else {
                        truncated = true; break outer
                    }
                    an += n
                }
            }
        }
        if !truncated {
            outer: for item in authority {
                for r in item.records {
                    guard writer.record(owner: item.owner, r) else { truncated = true; break outer }
                    ns += 1
                }
                if dnssec, let signer = snapshot.signer(item.zone) {
                    guard let n = writeRRSIGs(item.owner, item.records, signer, signedOwner: item.signedOwner, now: now) else {
                        truncated = true; break outer
                    }
                    ns += n
                }
            }
        }
        let additionalSigner = dnssec ? snapshot.signer(additionalZone) : nil
        if !truncated {
            // Glue for in-domain servers must fit (RFC 9471); other addresses are dropped when they don't.
            var optionalFull = false
            outer: for a in additional {
                if optionalFull && !a.required { continue }
                let m = writer.mark
                var n = 0
                for r in a.records {
                    guard writer.record(owner: a.owner, r) else {
                        writer.rollback(to: m)
                        if a.required { truncated = true; break outer }
                        optionalFull = true
                        n = 0
                        continue outer
                    }
                    n += 1
                }
                if let signer = additionalSigner, !a.required {
                    guard let k = writeRRSIGs(a.owner, a.records[...], signer, signedOwner: nil, now: now) else {
                        writer.rollback(to: m)
                        optionalFull = true
                        continue outer
                    }
                    n += k
                }
                ar += n
            }
        }
        var qd = 1
        if truncated {
            writer.reset(buffer: out, limit: limit - optSize - reserve)
            writer.header(id: q.id, flags: responseFlags(q.flags, rcode: rcode, aa: aa, tc: true))
            an = 0; ns = 0; ar = 0
            // Only a long question beside a long TSIG key name can miss 512 octets: then no question.
            if !writer.question(q.qname, type: q.qtype.rawValue, qclass: q.qclass) { qd = 0 }
        }
        writer.limit = min(limit - reserve, out.count)
        if let e = q.edns {
            if writer.opt(udpSize: advertisedUDPPayload, extendedRcode: UInt8(rcode.rawValue >> 4), dnssecOK: e.dnssecOK,
                          options: options) { ar += 1 }
        }
        writer.setCounts(qd: qd, an: an, ns: ns, ar: ar)
        return finish(limit: limit, out: out)
    }
}
