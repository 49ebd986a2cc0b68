import DNSWire

// Online DNSSEC (docs/dnssec.md): the RRSIGs of a DO=1 answer from a signed zone, and its denial of
// existence, made per query. Compact denial of existence (RFC 9824): a name that does not exist gets
// NOERROR and an NSEC at the name listing only RRSIG, NSEC and NXNAME; an existing name without the
// type an NSEC at the name with the types it has. Each NSEC's next name is the name's immediate
// successor (`\000.name`), so it covers nothing but the name itself.

extension AnswerEngine {
    /// NXNAME (RFC 9824 §2): the meta-type marking a compact denial's NSEC as a nonexistent name's.
    static let nxname: UInt16 = 128

    /// A negative answer at `name` (an existing node `data` without the type): the SOA, and with DNSSEC
    /// the NSEC at `name` listing the types it has (never `qtype`: a pool without an answer has it).
    func nodata(_ name: DomainName, _ data: ZoneNode, qtype: RecordType, zone: ZoneHead, snapshot: ServingSnapshot) {
        authority.append(Item(owner: zone.origin, records: zone.negativeSOASet[...], zone: data.zone))
        if dnssec, snapshot.signer(data.zone) != nil {
            let types = typesAt(data, snapshot: snapshot).filter { $0 != qtype.rawValue }
            authority.append(nsec(at: name, zone: data.zone, ttl: zone.negativeSOA.ttl, types: types))
        }
    }

    /// A DO=1 query for type NSEC or RRSIG in a signed zone (`proof` the NSEC the name has in its denials,
    /// nonexistent names included: compact denial says they exist): answers the NSEC, or its RRSIG after the
    /// other RRSIGs already in the answer. A negative answer would not do: the NSEC proving it lists both types.
    /// True when it answered (the caller's denial is then not sent).
    func answerDNSSECType(_ qtype: RecordType, proof: Item) -> Bool {
        switch qtype {
        case .nsec: answer.append(proof)
        case .rrsig:
            answer.append(Item(owner: proof.owner, records: proof.records, zone: proof.zone, signaturesOnly: true))
        default: return false
        }
        return true
    }

    /// The types a pool can have (`ServingSnapshot.slotPools` order).
    static let poolTypes: [RecordType] = [.a, .aaaa, .cname]

    /// The types an NSEC at `node` lists (besides RRSIG and NSEC): its RRsets and pools; at a
    /// delegation only NS and DS (RFC 4035 §2.3); at a signed apex also DNSKEY, CDS and CDNSKEY.
    func typesAt(_ node: ZoneNode, snapshot: ServingSnapshot) -> [UInt16] {
        if node.cut === node {
            return node.rrset(.ds) == nil ? [RecordType.ns.rawValue] : [RecordType.ns.rawValue, RecordType.ds.rawValue]
        }
        var types = node.rrsets.map(\.type.rawValue)
        if node.poolSlot >= 0 {
            for t in Self.poolTypes where snapshot.pool(at: node, t) != nil { types.append(t.rawValue) }
        }
        if node.labelCount == node.zone.origin.labelCount, snapshot.signer(node.zone) != nil {
            types += [RecordType.dnskey.rawValue, RecordType.cds.rawValue, RecordType.cdnskey.rawValue]
        }
        return types
    }

    /// The NSEC at `owner` whose next name is `owner`'s immediate successor in canonical order.
    func nsec(at owner: DomainName, zone: ZoneHead?, ttl: UInt32, types: [UInt16]) -> Item {
        let next = Self.successor(owner.key, apex: zone?.origin.key ?? [0])
        return Item(owner: owner, records: [EncodedRecord(type: .nsec, ttl: ttl, rdata: next + Self.typeBitmap(types))][...],
                    zone: zone)
    }

    /// The name right after `key` (lower-cased wire form) in canonical order, RFC 4471 §3.1.2: `\000.key`
    /// when it fits in 255 octets; else `key` with a zero octet added to its first label when that fits;
    /// else (no name can sort between) the first label's last octet incremented, its trailing 0xFF octets
    /// dropped first and an emptied label dropped for its parent's, up to `apex`, which comes after the
    /// zone's last name. An incremented octet that is an upper-case letter sorts as lower case: past 'Z'.
    static func successor(_ key: [UInt8], apex: [UInt8]) -> [UInt8] {
        if key.count + 2 <= 255 { return [1, 0] + key }
        let first = Int(key[0])
        if first < 63 && key.count < 255 { return [UInt8(first + 1)] + key[1...first] + [0] + key[(first + 1)...] }
        var name = key[...]
        while name.count > apex.count {
            let n = Int(name[name.startIndex])
            var label = Array(name[(name.startIndex + 1)...(name.startIndex + n)])
            name = name[(name.startIndex + 1 + n)...]
            while label.last == 0xff { label.removeLast() }
            if var last = label.popLast() {
                last += 1
                if last >= 0x41 && last <= 0x5a { last = 0x5b }
                return [UInt8(label.count + 1)] + label + [last] + name
            }
        }
        return apex
    }

    /// For an answer expanded from a wildcard (RFC 4035 §3.1.3.3): an NSEC proving that the next closer
    /// name (the one label of `name` below `encloser`, the closest encloser the wildcard hangs from) does
    /// not exist, and covering as little else as it can (RFC 4470): from a made-up sibling just before it
    /// (its label's last octet decremented, then 0xFF) to the name just after it and all its descendants
    /// (its label followed by a zero octet). Both share exactly `encloser`'s labels with `name`, so a
    /// validator finds the right closest encloser. Left out in the corner cases where no such names exist
    /// (a 63-octet label, a label ending in a zero octet, a name of 255 octets).
    func proveExpansion(_ wildcard: DomainName?, name: DomainName, encloser: ZoneNode, zone: ZoneHead,
                        snapshot: ServingSnapshot) {
        guard dnssec, wildcard != nil, snapshot.signer(encloser.zone) != nil else { return }
        let depth = name.labelCount - encloser.labelCount
        guard depth >= 1 else { return }
        let key = name.key
        var i = 0
        for _ in 0..<(depth - 1) { i += Int(key[i]) + 1 }
        let label = Array(key[(i + 1)..<(i + 1 + Int(key[i]))])
        guard label.count < 63, let last = label.last, last != 0 else { return }
        var before = label
        var low = last - 1
        // A decremented octet that is an upper-case letter would sort as lower case (RFC 4034 §6.1).
        if low >= 0x41 && low <= 0x5a { low = 0x40 }
        before[before.count - 1] = low
        before.append(0xff)
        let owner = [UInt8(before.count)] + before + encloser.name.key
        let next = [UInt8(label.count + 1)] + label + [0] + encloser.name.key
        guard next.count <= 255, owner.count <= 255 else { return }
        authority.append(Item(owner: DomainName(uncheckedWire: owner),
                              records: [EncodedRecord(type: .nsec, ttl: zone.negativeSOA.ttl, rdata: next + Self.typeBitmap([]))],
                              zone: encloser.zone))
    }

    /// Writes the RRSIGs of `records` (one RRSIG set per run of one type) after them; the number written,
    /// nil when they do not fit (the caller truncates or drops the RRset).
    @inline(__always)
    func writeRRSIGs(_ owner: DomainName, _ records: ArraySlice<EncodedRecord>, _ signer: ZoneSigner, signedOwner: DomainName?,
                     now: UInt64) -> Int? {
        var n = 0
        var start = records.startIndex
        while start < records.endIndex {
            var end = start + 1
            while end < records.endIndex && records[end].type == records[start].type { end += 1 }
            let run = records[start..<end]
            for sig in signatures.rrsigs(signer, signingOwner: signedOwner ?? owner, type: records[start].type, records: run,
                                         now: now) {
                guard writer.record(owner: owner, sig) else { return nil }
                n += 1
            }
            start = end
        }
        return n
    }

    /// The NSEC type bit maps field (RFC 4034 §4.1.2) of `types` plus RRSIG and NSEC.
    static func typeBitmap(_ types: [UInt16]) -> [UInt8] {
        let sorted = Set(types + [RecordType.rrsig.rawValue, RecordType.nsec.rawValue]).sorted()
        var out: [UInt8] = []
        var i = 0
        while i < sorted.count {
            let window = sorted[i] >> 8
            var bits = [UInt8](repeating: 0, count: 32)
            var length = 0
            while i < sorted.count, sorted[i] >> 8 == window {
                let low = Int(sorted[i] & 0xff)
                bits[low >> 3] |= 0x80 >> UInt8(low & 7)
                length = max(length, (low >> 3) + 1)
                i += 1
            }
            out.append(UInt8(window))
            out.append(UInt8(length))
            out += bits[0..<length]
        }
        return out
    }
}
