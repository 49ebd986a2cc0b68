import DNSWire

/// The operator's delays of a rollover (`cairn dnssec rollover --propagation --ds-ttl --parent-propagation`),
/// stored with the keys that take part in it. Seconds.
public struct RolloverDelays: Hashable, Sendable, Codable {
    /// Dprp (RFC 7583 §2): how long a change of the keys takes to reach every node serving the zone. Cairn's
    /// nodes read the store within their check interval, but a node cut off from the store serves its last
    /// snapshot: the default hour covers such an outage. Production minimum: 5 minutes.
    public var propagation: Double
    /// TTLds: the TTL of the DS RRset at the parent (asked of the parent: `dig DS zone`).
    public var dsTTL: Double
    /// DprpP: from `ds-seen` (the DS is at the parent) until every server of the parent has it.
    public var parentPropagation: Double

    public static let standard = RolloverDelays(propagation: 3600, dsTTL: 86_400, parentPropagation: 3600)
    /// Below these the command warns (docs/dnssec.md): shorter values are for tests.
    public static let productionMinimum = RolloverDelays(propagation: 300, dsTTL: 300, parentPropagation: 300)

    public init(propagation: Double, dsTTL: Double, parentPropagation: Double) {
        self.propagation = propagation; self.dsTTL = dsTTL; self.parentPropagation = parentPropagation
    }

    enum CodingKeys: String, CodingKey { case propagation, dsTTL = "ds_ttl", parentPropagation = "parent_propagation" }

    /// The delays below `productionMinimum`, by name, for the command's warning.
    public var belowProductionMinimum: [String] {
        var out: [String] = []
        if propagation < Self.productionMinimum.propagation { out.append("propagation") }
        if dsTTL < Self.productionMinimum.dsTTL { out.append("ds-ttl") }
        if parentPropagation < Self.productionMinimum.parentPropagation { out.append("parent-propagation") }
        return out
    }
}

/// The TTLs of a served zone that a rollover waits out (seconds), read from the snapshot.
public struct ZoneTTLs: Hashable, Sendable {
    /// TTLkey: the DNSKEY RRset's TTL.
    public var dnskey: Double
    /// TTLsig: the longest TTL of a signed RRset (static records and pools) or of a negative answer
    /// (the negative SOA's TTL, which the NSEC of a denial also has).
    public var maxSigned: Double

    public init(dnskey: Double, maxSigned: Double) { self.dnskey = dnskey; self.maxSigned = maxSigned }
}

/// Rollovers (docs/dnssec.md "Key rollover"): a pre-publish ZSK rollover (RFC 6781 §4.1.1.1, RFC 7583 §3.2.1)
/// and a double-signature ("Double-KSK") KSK or CSK rollover (RFC 6781 §4.1.2, RFC 7583 §3.3.1). The timings:
///
/// - a new key is `published` for Ipub = Dprp + TTLkey (every cache that has the DNSKEY RRset has it with the
///   new key), then a ZSK becomes `active` (the old one `retired`), a KSK or CSK `dsPending`;
/// - `ds-seen` makes the pending KSK or CSK `active` and retires the old one;
/// - a retired ZSK is removed after Iret = Dprp + TTLsig (no cache holds a signature it made; Dsgn is 0 online:
///   every answer is signed by the new key from the snapshot that has it); a retired KSK after
///   DprpP + TTLds (no cache holds the old DS); a retired CSK after the longer of both.
///
/// Pure: the store applies the steps with conditional updates, so that two nodes taking the same step take it once.
public enum DNSSECRollover {
    /// A change of the keys of one zone.
    public enum Step: Hashable, Sendable {
        /// `key` becomes active (from `published` or `dsPending`); `retire` (the active keys of its role) retired.
        case activate(DNSSECKey, retire: [DNSSECKey])
        /// A KSK or CSK waits for its DS at the parent.
        case awaitDS(DNSSECKey)
        /// A retired key leaves the DNSKEY RRset.
        case remove(DNSSECKey)
    }

    /// When `key` takes its next step by the clock, nil when it has none (active) or waits for the operator.
    public static func due(_ key: DNSSECKey, ttls: ZoneTTLs) -> Double? {
        let d = key.rollover ?? .standard
        let computed: Double
        switch key.state {
        case .active, .dsPending: return nil
        case .published: computed = key.stateSince + d.propagation + ttls.dnskey
        case .retired:
            let data = d.propagation + ttls.maxSigned
            let parent = d.parentPropagation + d.dsTTL
            switch key.role {
            case .zsk: computed = key.stateSince + data
            case .ksk: computed = key.stateSince + parent
            case .csk: computed = key.stateSince + max(data, parent)
            }
        }
        // A time shown already is never brought forward (a node with other TTLs, a TTL lowered meanwhile).
        return max(computed, key.nextAt ?? computed)
    }

    /// The steps due at `now` among `keys` (one zone's).
    public static func steps(_ keys: [DNSSECKey], ttls: ZoneTTLs, now: Double) -> [Step] {
        var out: [Step] = []
        for k in keys {
            guard let at = due(k, ttls: ttls), at <= now else { continue }
            switch k.state {
            case .published where k.role == .zsk: out.append(.activate(k, retire: activeKeys(keys, like: k)))
            case .published: out.append(.awaitDS(k))
            case .retired: out.append(.remove(k))
            case .active, .dsPending: break
            }
        }
        return out
    }

    /// The step `ds-seen` takes: the pending key active, the old one retired; nil when no key waits.
    public static func dsSeen(_ keys: [DNSSECKey]) -> Step? {
        keys.first { $0.state == .dsPending }.map { .activate($0, retire: activeKeys(keys, like: $0)) }
    }

    /// The active keys of `key`'s role.
    public static func activeKeys(_ keys: [DNSSECKey], like key: DNSSECKey) -> [DNSSECKey] {
        keys.filter { $0.state == .active && $0.role == key.role && $0.publicKey != key.publicKey }
    }

    /// The keys whose DS the parent should have now (CDS, CDNSKEY, `cairn dnssec ds`): the KSK or CSK waiting
    /// for its DS during a rollover, else the active ones.
    public static func parentKeys(_ keys: [DNSSECKey]) -> [DNSSECKey] {
        let sep = keys.filter { $0.role.signsKeys }
        let pending = sep.filter { $0.state == .dsPending }
        return pending.isEmpty ? sep.filter { $0.state == .active } : pending
    }

    /// Why a rollover of `role` cannot start among `keys` (one zone's), nil when it can.
    public static func refusal(_ keys: [DNSSECKey], rollKSK: Bool) -> String? {
        if keys.isEmpty { return "the zone is not signed" }
        if keys.contains(where: { $0.state != .active }) { return "a rollover is in progress: see cairn dnssec status" }
        if !rollKSK && !keys.contains(where: { $0.role == .zsk }) {
            return "the zone has a combined signing key: roll it with --ksk"
        }
        return nil
    }
}

extension ServingSnapshot {
    /// The TTLs of the served zone `zone` (lower-case, absolute) that a rollover waits out; nil when it is not
    /// served. Walks the zone's names: for the rollover task, once per snapshot, never on the query path.
    public func rolloverTTLs(zone: String) -> ZoneTTLs? {
        guard let i = zones.firstIndex(where: { $0.origin.description.lowercased() == zone }) else { return nil }
        let z = zones[i]
        var longest = z.negativeSOA.ttl
        for node in zoneIndex.zoneNodes[i] {
            for set in node.rrsets { for r in set.records where r.ttl > longest { longest = r.ttl } }
        }
        for p in pools where p.name.isSubdomain(of: z.origin) { longest = max(longest, UInt32(max(0, p.pool.ttl))) }
        return ZoneTTLs(dnskey: Double(ZoneSigner.keyTTL(z)), maxSigned: Double(longest))
    }
}
