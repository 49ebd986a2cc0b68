import DNSWire
import GSLBCore

/// Semantic checks of a loaded zone, after nsd-checkzone and kzonecheck: each rule has
/// its own `ZoneDiagnostic.Rule` and message, and points at the record's file and line.
/// Errors make `ZoneDirectory` reject the zone; warnings describe what NSD would
/// serve anyway (duplicates dropped, occluded data never answered).
public enum ZoneChecker {
    public static func check(_ zone: ZoneContent) -> [ZoneDiagnostic] {
        run(zone).diagnostics
    }

    /// `check`, and the positions in `zone.records` of the records that repeat an earlier one
    /// (the duplicates it warned of, ascending), which `ZoneDirectory` drops.
    static func run(_ zone: ZoneContent) -> (diagnostics: [ZoneDiagnostic], duplicates: [Int]) {
        var run = CheckRun(zone)
        run.checkRecords()
        run.checkApex()
        return (run.sorted(), run.duplicates)
    }

    /// Identity of a record for duplicate detection: owner and RDATA names compare
    /// case-insensitively (`ResourceRecord.canonicalRdata`).
    struct RecordKey: Hashable {
        var name: DomainName
        var type: RecordType
        var rclass: UInt16
        var rdata: [UInt8]
        init(_ r: ResourceRecord) {
            name = r.name; type = r.type; rclass = r.rclass; rdata = ResourceRecord.canonicalRdata(r.type, r.rdata)
        }

        /// The bytes `==` compares, the RDATA hashed whole (the synthesized hash feeds
        /// it to the hasher one octet at a time: most of the check of a large zone).
        func hash(into h: inout Hasher) {
            h.combine(name)
            h.combine(type)
            h.combine(rclass)
            rdata.withUnsafeBytes { h.combine(bytes: $0) }
        }
    }

    /// True when a label after the first is `*` (matched literally, not as a wildcard).
    static func hasInnerAsterisk(_ name: DomainName) -> Bool {
        let k = name.key
        var i = Int(k[0]) + 1
        while i < k.count, k[i] != 0 {
            if k[i] == 1, k[i + 1] == UInt8(ascii: "*") { return true }
            i += Int(k[i]) + 1
        }
        return false
    }
}

private struct CheckRun {
    struct NameState { var cname = false, dname = false, other = false, reportedOther = false }
    /// One RRset (name, type, class) as the check met it: its first record, that record's TTL, whether
    /// more records followed (they are then in the duplicate set) and whether a TTL mismatch was reported.
    struct RRsetSeen { var first: Int; var ttl: UInt32; var several = false; var ttlReported = false }

    let zone: ZoneContent
    let apex: DomainName
    let records: [ResourceRecord]
    /// Names (in the zone) that own a record of each kind.
    var cnames = Set<DomainName>(), dnames = Set<DomainName>(), delegations = Set<DomainName>()
    var nsTargets = Set<DomainName>(), apexNS = false
    /// The NS targets (above) that own an A or AAAA record in the zone: the only names whose
    /// addresses a rule asks about (a set of every address owner cost a large zone's load most).
    var addressedTargets = Set<DomainName>()
    var found: [(index: Int, seq: Int, diag: ZoneDiagnostic)] = []
    /// Positions of the records that repeat an earlier one, ascending.
    var duplicates: [Int] = []
    var apexSOA: Int?

    init(_ zone: ZoneContent) {
        self.zone = zone
        apex = zone.origin
        records = zone.records
        for r in records where r.type == .cname || r.type == .dname || r.type == .ns {
            guard r.name.isSubdomain(of: apex) else { continue }
            switch r.type {
            case .cname: cnames.insert(r.name)
            case .dname: dnames.insert(r.name)
            default:
                if r.name == apex { apexNS = true } else { delegations.insert(r.name) }
                if let t = r.target { nsTargets.insert(t) }
            }
        }
        guard !nsTargets.isEmpty else { return }
        for r in records where (r.type == .a || r.type == .aaaa) && nsTargets.contains(r.name) && r.name.isSubdomain(of: apex) {
            addressedTargets.insert(r.name)
        }
    }

    /// File and line of record `i`; the top of the zone file when there is no record.
    func location(_ i: Int) -> (file: String, line: Int) {
        guard i >= 0 else { return (zone.source, 1) }
        return (i < zone.files.count ? zone.files[i] : zone.source, i < zone.lines.count ? zone.lines[i] : 0)
    }

    mutating func add(_ i: Int, _ severity: ZoneDiagnostic.Severity, _ rule: ZoneDiagnostic.Rule, _ message: String) {
        let at = location(i)
        found.append((i, found.count, ZoneDiagnostic(severity: severity, rule: rule, file: at.file, line: at.line, message: message)))
    }

    func sorted() -> [ZoneDiagnostic] {
        found.sorted { ($0.index, $0.seq) < ($1.index, $1.seq) }.map(\.diag)
    }

    static let classNames = [RecordClass.ch: "CH", RecordClass.hs: "HS", RecordClass.none: "NONE", RecordClass.any: "ANY"]
    static func className(_ c: UInt16) -> String { classNames[c] ?? "CLASS\(c)" }

    mutating func checkRecords() {
        // The RRsets met so far (name, type, class), each found through `rrsets` by its first record.
        var rrsets = PositionTable(minimumCapacity: records.count)
        var sets: [RRsetSeen] = []
        var seen = Set<ZoneChecker.RecordKey>()
        /// Only names that own a CNAME or DNAME have a state: no other name can break their rules.
        var names: [DomainName: NameState] = [:]
        let aliases = !cnames.isEmpty || !dnames.isEmpty
        var asteriskReported = Set<DomainName>()

        for (i, r) in records.enumerated() {
            let name = r.name
            if r.rclass != RecordClass.in {
                add(i, .error, .classNotIN, "class \(Self.className(r.rclass)) of \(name) \(r.type): only class IN is served")
            }
            if r.ttl > 2_147_483_647 {
                add(i, .error, .ttlTooLarge, "TTL \(r.ttl) of \(name) \(r.type) is above the maximum 2147483647 (RFC 2181 §8)")
            }
            guard name.isSubdomain(of: apex) else {
                add(i, .error, .outOfZone, "out-of-zone data: \(name) \(r.type) is not inside the zone \(apex)")
                continue
            }
            if ZoneChecker.hasInnerAsterisk(name), asteriskReported.insert(name).inserted {
                add(i, .warning, .asteriskNotLeftmost,
                    "'*' is not the leftmost label of \(name): it is matched literally, not as a wildcard (RFC 4592 §2.1.1)")
            }
            if name.isWildcard && r.type == .ns {
                add(i, .error, .wildcardNS, "NS record at the wildcard name \(name) (RFC 4592 §4.2)")
            }
            var h = Hasher()
            h.combine(name)
            h.combine(r.type)
            h.combine(r.rclass)
            let (set, new) = rrsets.findOrInsert(hash: h.finalize(), position: sets.count) { p in
                let first = records[sets[p].first]
                return first.type == r.type && first.rclass == r.rclass && first.name == name
            }
            if new { sets.append(RRsetSeen(first: i, ttl: r.ttl)) }
            let (duplicate, ttlMismatch) = Self.note(i, records, seen: &seen, in: &sets[set])
            guard !duplicate else {
                duplicates.append(i)
                add(i, .warning, .duplicateRecord,
                    "duplicate record \(name) \(r.type) \(RDataText.format(type: r.type, rdata: r.rdata)) (ignored, as NSD does)")
                continue
            }
            if let first = ttlMismatch {
                add(i, .warning, .rrsetTTLMismatch,
                    "TTL \(r.ttl) differs from TTL \(first) of the other \(name) \(r.type) records (RFC 2181 §5.2)")
            }
            if r.type == .soa {
                if name != apex {
                    add(i, .error, .soaNotAtApex, "SOA record at \(name), not at the zone apex \(apex)")
                } else if apexSOA != nil {
                    add(i, .error, .multipleSOA, "more than one SOA record at the zone apex \(apex)")
                } else {
                    apexSOA = i
                }
            }
            if aliases && (cnames.contains(name) || dnames.contains(name)) {
                checkAliases(i, r, &names[name, default: NameState()])
            }
            checkOcclusion(i, r)
            checkTargets(i, r)
        }
    }

    /// Adds record `i` to its RRset's entry `s` (made by this record when it is the set's first): whether it
    /// repeats an earlier record of the set, and the TTL of the set's first record when its own differs
    /// (once per set; never for RRSIGs, whose TTLs may differ). Only the records of sets with more than one
    /// go into `seen`: nearly every RRset of a large zone has one record, and a set of them all was most
    /// of its load.
    static func note(_ i: Int, _ records: [ResourceRecord], seen: inout Set<ZoneChecker.RecordKey>,
                     in s: inout RRsetSeen) -> (duplicate: Bool, ttlMismatch: UInt32?) {
        guard s.first != i else { return (false, nil) }
        if !s.several {
            s.several = true
            seen.insert(ZoneChecker.RecordKey(records[s.first]))
        }
        let r = records[i]
        guard seen.insert(ZoneChecker.RecordKey(r)).inserted else { return (true, nil) }
        guard r.type != .rrsig, r.ttl != s.ttl, !s.ttlReported else { return (false, nil) }
        s.ttlReported = true
        return (false, s.ttl)
    }

    /// CNAME and DNAME exclusivity (RFC 1034 §3.6.2, RFC 2181 §10.1, RFC 6672 §2.4).
    mutating func checkAliases(_ i: Int, _ r: ResourceRecord, _ st: inout NameState) {
        let name = r.name
        switch r.type {
        case .cname:
            if name == apex { add(i, .error, .cnameAtApex, "CNAME at the zone apex \(apex)") }
            if st.cname { add(i, .error, .multipleCNAME, "more than one CNAME record at \(name) (RFC 2181 §10.1)") }
            if st.dname {
                add(i, .error, .dnameAndCNAME, "CNAME and DNAME at the same name \(name) (RFC 6672 §2.4)")
            } else if st.other && !st.reportedOther {
                st.reportedOther = true
                add(i, .error, .cnameAndOtherData, "CNAME and other data at \(name) (RFC 1034 §3.6.2)")
            }
            st.cname = true
        case .dname:
            if st.dname { add(i, .error, .multipleDNAME, "more than one DNAME record at \(name) (RFC 6672 §2.4)") }
            if st.cname { add(i, .error, .dnameAndCNAME, "CNAME and DNAME at the same name \(name) (RFC 6672 §2.4)") }
            st.dname = true
        case .rrsig, .nsec:
            break
        default:
            if st.cname && !st.reportedOther {
                st.reportedOther = true
                add(i, .error, .cnameAndOtherData, "CNAME and other data at \(name) (RFC 1034 §3.6.2)")
            }
            st.other = true
        }
    }

    /// Data that no query can reach: below a DNAME, or at or below a zone cut
    /// other than the delegation itself and its glue.
    mutating func checkOcclusion(_ i: Int, _ r: ResourceRecord) {
        guard !dnames.isEmpty || !delegations.isEmpty else { return }
        let name = r.name
        /// Asked only at or below a zone cut (one set lookup per address record otherwise).
        func isGlue() -> Bool { (r.type == .a || r.type == .aaaa) && nsTargets.contains(name) }
        var dname: DomainName?, cut: DomainName?
        var a = name
        while a != apex {
            a = a.parent
            if dnames.contains(a) { dname = a }
            if a != apex && delegations.contains(a) { cut = a }
        }
        if name != apex && delegations.contains(name) && cut == nil {
            switch r.type {
            case .ns, .ds, .rrsig, .nsec: break
            default: if !isGlue() { cut = name }
            }
        }
        if let dname, cut == nil || dname.labelCount <= cut!.labelCount {
            add(i, .warning, .occludedByDNAME, "\(name) \(r.type) is below the DNAME at \(dname): occluded, never served (RFC 6672 §2.3)")
        } else if let cut, !isGlue() {
            add(i, .warning, .occludedByDelegation,
                "\(name) \(r.type) is occluded by delegation at \(cut): only NS, DS and glue are served there")
        }
    }

    /// NS, MX and SRV targets: glue, and no aliases (RFC 2181 §10.3).
    mutating func checkTargets(_ i: Int, _ r: ResourceRecord) {
        guard let t = r.target else { return }
        switch r.type {
        case .ns:
            if cnames.contains(t) {
                add(i, .error, .nsTargetIsCNAME, "NS target \(t) of \(r.name) is a CNAME (RFC 2181 §10.3)")
            } else if r.name != apex && t.isSubdomain(of: r.name) && !addressedTargets.contains(t) {
                add(i, .error, .missingGlue, "missing glue: NS target \(t) of the delegation \(r.name) has no A or AAAA record")
            } else if t.isSubdomain(of: apex) && !addressedTargets.contains(t) {
                add(i, .warning, .nsTargetWithoutAddress, "NS target \(t) of \(r.name) is inside the zone but has no A or AAAA record")
            }
        case .mx, .srv:
            if cnames.contains(t) {
                add(i, .warning, .targetIsCNAME, "\(r.type) target \(t) of \(r.name) is a CNAME (RFC 2181 §10.3)")
            }
        default:
            break
        }
    }

    mutating func checkApex() {
        let first = records.indices.first { records[$0].name == apex } ?? 0
        if apexSOA == nil {
            add(records.isEmpty ? -1 : first, .error, .missingApexSOA, "no SOA record at the zone apex \(apex)")
        }
        if !apexNS {
            add(apexSOA ?? (records.isEmpty ? -1 : first), .error, .missingApexNS, "no NS records at the zone apex \(apex)")
        }
    }
}
