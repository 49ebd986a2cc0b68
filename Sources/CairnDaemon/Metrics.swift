import DNSWire
import Foundation
import GSLBCore
import DNSService
import HealthService
import SnapshotService

/// The Prometheus metrics of a running Cairn (`GET /metrics`): reads the DNS
/// server's query totals, the publisher's rebuild counters and current snapshot,
/// and the health monitor's probe counters, and writes them as Prometheus text
/// format 0.0.4. Rendering takes each source's lock once, briefly; nothing here
/// touches the query path. See docs/metrics.md for every metric.
public final class Metrics: Sendable {
    public let dns: DNSServer
    public let publisher: SnapshotPublisher
    public let health: HealthMonitor?

    public init(dns: DNSServer, publisher: SnapshotPublisher, health: HealthMonitor? = nil) {
        self.dns = dns
        self.publisher = publisher
        self.health = health
        _ = ProcessStats.startTime
    }

    public func render() -> String {
        var w = PrometheusText()
        w.family("cairn_build_info", .gauge, "Always 1; the labels say which Cairn this is.")
        w.sample("cairn_build_info", [("version", CairnVersion.current), ("commit", BuildCommit.hash)], 1)
        renderDNS(&w)
        let snap = publisher.box.load()
        renderMembers(&w, snap)
        if let h = health { renderHealth(&w, h) }
        renderSnapshot(&w, snap)
        renderProcess(&w)
        return w.text
    }

    static func rcodeName(_ r: Int) -> String {
        r == QueryTally.rcodeCount - 1 ? "RCODE\(r)+" : ResponseCode(rawValue: UInt16(r)).description
    }

    func renderDNS(_ w: inout PrometheusText) {
        let t = dns.counters.totalsNow
        w.family("cairn_dns_queries_total", .counter,
                 "DNS queries answered, by transport, query type (other for unlisted types and queries without a question) and response RCODE.")
        for c in t.queries.indices where t.queries[c] > 0 {
            let l = QueryTally.labels(ofCell: c)
            w.sample("cairn_dns_queries_total", [("transport", l.transport), ("type", l.type), ("rcode", Metrics.rcodeName(l.rcode))],
                     t.queries[c])
        }
        w.family("cairn_dns_dropped_total", .counter,
                 "DNS packets received and not answered (not a query, or larger than the receive buffer), by transport.")
        for (i, tr) in QueryTally.transportLabels.enumerated() { w.sample("cairn_dns_dropped_total", [("transport", tr)], t.dropped[i]) }
        w.family("cairn_dns_response_size_bytes", .histogram, "Size of the DNS responses written, in octets, by transport.")
        let buckets = QueryTally.sizeBounds.count + 1
        for (i, tr) in QueryTally.transportLabels.enumerated() {
            let h = Histogram(bounds: QueryTally.sizeBounds.map(Double.init), counts: Array(t.sizes[(i * buckets)..<((i + 1) * buckets)]),
                              sum: Double(t.sizes[2 * buckets + i]))
            w.histogram("cairn_dns_response_size_bytes", [("transport", tr)], h)
        }
        w.family("cairn_zone_queries_total", .counter, "DNS responses for names in a served zone, by zone and transport.")
        for origin in t.zones.keys.sorted() {
            for (i, tr) in QueryTally.transportLabels.enumerated() where t.zones[origin]![i] > 0 {
                w.sample("cairn_zone_queries_total", [("zone", origin), ("transport", tr)], t.zones[origin]![i])
            }
        }
        w.single("cairn_dns_tcp_connections", .gauge, "DNS TCP connections open now.", dns.tcpConnections)
        renderRRL(&w, t)

        // Answers: per member slot; the pool's fallback slot has an empty address.
        var bySite: [[String]: UInt64] = [:]
        var byMember: [[String]: UInt64] = [:]
        var fallback: [[String]: UInt64] = [:]
        for (s, n) in t.answers {
            if s.address.isEmpty {
                fallback[[s.pool, s.type], default: 0] += n
            } else {
                bySite[[s.pool, s.type, s.site], default: 0] += n
                byMember[[s.pool, s.type, s.address, s.site], default: 0] += n
            }
        }
        let families: [(name: String, help: String, labels: [String], counts: [[String]: UInt64])] = [
            ("cairn_pool_answers_total", "Addresses handed out in GSLB answers, by the pool whose member they are and the member's site.",
             ["pool", "type", "site"], bySite),
            ("cairn_member_answers_total", "Times a member's address was handed out in a GSLB answer.", ["pool", "type", "address", "site"], byMember),
            ("cairn_pool_fallback_answers_total",
             "GSLB answers of a pool given by its fallback because no member was eligible (any fallback: all, none, servfail, another pool).",
             ["pool", "type"], fallback),
        ]
        for f in families {
            w.family(f.name, .counter, f.help)
            for k in f.counts.keys.sorted { $0.lexicographicallyPrecedes($1) } { w.sample(f.name, Array(zip(f.labels, k)), f.counts[k]!) }
        }
    }

    /// Response rate limiting: only when it is on (`--rrl-ratelimit` > 0).
    func renderRRL(_ w: inout PrometheusText, _ t: QueryCounters.Totals) {
        guard let rrl = dns.rateLimiter else { return }
        w.family("cairn_rrl_limited_total", .counter,
                 "UDP responses over the rate limit, by what was done (drop, or slip: sent truncated) and response class.")
        for c in t.rrl.indices {
            let l = QueryTally.rrlLabels(ofCell: c)
            guard let action = l.action, let cls = l.class, t.rrl[c] > 0 else { continue }
            w.sample("cairn_rrl_limited_total", [("action", action), ("class", cls)], t.rrl[c])
        }
        w.family("cairn_rrl_exempt_total", .counter,
                 "UDP responses over the rate limit sent anyway, by reason (cookie: a valid server cookie; network: --rrl-exempt).")
        for c in t.rrl.indices {
            guard let reason = QueryTally.rrlLabels(ofCell: c).exempt else { continue }
            w.sample("cairn_rrl_exempt_total", [("reason", reason)], t.rrl[c])
        }
        w.single("cairn_rrl_table_entries", .gauge, "RRL buckets holding recent responses of a client network (not refilled yet).", rrl.activeBuckets)
        w.single("cairn_rrl_table_size", .gauge, "RRL buckets in the table (--rrl-table-size).", rrl.tableSize)
    }

    static func value(_ s: HealthState) -> Int {
        switch s {
        case .up: return 1
        case .down: return 0
        case .unknown: return -1
        }
    }

    func renderMembers(_ w: inout PrometheusText, _ snap: ServingSnapshot) {
        struct Row { let labels: [(String, String)]; let m: MemberView }
        var rows: [Row] = []
        for p in snap.pools.sorted(by: { ($0.pool.name, $0.pool.type) < ($1.pool.name, $1.pool.type) }) {
            let type = p.type == .aaaa ? "AAAA" : "A"
            for m in p.members {
                rows.append(Row(labels: [("pool", p.pool.name), ("type", type), ("address", m.member.address), ("site", m.member.site)], m: m))
            }
        }
        w.family("cairn_member_up", .gauge,
                 "Member health: 1 up, 0 down (effective: also forced down or drain), -1 unknown. state=\"real\" is what probes say, state=\"effective\" what answers use (forced state if any, else real).")
        for r in rows {
            w.sample("cairn_member_up", r.labels + [("state", "real")], Metrics.value(r.m.real))
            // Forced up 1, forced down or drain 0, else the real state.
            w.sample("cairn_member_up", r.labels + [("state", "effective")], r.m.forced.map { $0 == .up ? 1 : 0 } ?? Metrics.value(r.m.real))
        }
        w.family("cairn_member_forced", .gauge,
                 "1 for the state an override forces the member to (up, down or drain), 0 for the others; all 0 when not forced.")
        for r in rows {
            for f in ForcedState.allCases {
                w.sample("cairn_member_forced", r.labels + [("state", f.rawValue)], r.m.forced == f ? 1 : 0)
            }
        }
        w.family("cairn_member_eligible", .gauge,
                 "1 when the member gets normal (non-fallback) answers: enabled, weight > 0, not forced down or drain, not really down.")
        for r in rows { w.sample("cairn_member_eligible", r.labels, r.m.eligible ? 1 : 0) }
        w.family("cairn_member_stale", .gauge,
                 "1 while the member's real state comes from a previous run and no probe of this run confirmed it yet.")
        for r in rows { w.sample("cairn_member_stale", r.labels, r.m.realStale ? 1 : 0) }
    }

    func renderHealth(_ w: inout PrometheusText, _ h: HealthMonitor) {
        let s = h.stats
        let keys = Set(s.durations.keys).union(s.results.keys).sorted { ($0.monitor, $0.type) < ($1.monitor, $1.type) }
        w.family("cairn_probe_duration_seconds", .histogram, "Probe time from start to verdict, by monitor.")
        for k in keys {
            guard let hist = s.durations[k] else { continue }
            w.histogram("cairn_probe_duration_seconds", [("monitor", k.monitor), ("monitor_type", k.type)], hist)
        }
        w.family("cairn_probes_total", .counter, "Probes done, by monitor and result (success or failure).")
        for k in keys {
            let r = s.results[k] ?? [0, 0]
            w.sample("cairn_probes_total", [("monitor", k.monitor), ("monitor_type", k.type), ("result", "success")], r[0])
            w.sample("cairn_probes_total", [("monitor", k.monitor), ("monitor_type", k.type), ("result", "failure")], r[1])
        }
        w.family("cairn_probes_late_total", .counter,
                 "Probes that started more than half an interval after their slot (the scheduler or the concurrency cap fell behind).")
        for k in keys { w.sample("cairn_probes_late_total", [("monitor", k.monitor), ("monitor_type", k.type)], s.late[k] ?? 0) }
        w.single("cairn_probe_targets", .gauge, "Distinct probe targets (address, port, monitor).", h.targetCount)
        w.single("cairn_probes_in_flight", .gauge, "Probes running now.", h.inFlight)
        w.single("cairn_health_cold_start", .gauge,
                 "1 until every probe target has had a first result (real states from the store are stale meanwhile), then 0.", h.coldStartOver ? 0 : 1)
        w.family("cairn_health_transitions_total", .counter,
                 "Real-state transitions of members, by pool, type and new state (up or down; the first verdict after unknown counts).")
        for k in s.transitions.keys.sorted(by: { ($0.pool, $0.type, $0.to) < ($1.pool, $1.type, $1.to) }) {
            w.sample("cairn_health_transitions_total", [("pool", k.pool), ("type", k.type), ("to", k.to)], s.transitions[k]!)
        }
    }

    func renderSnapshot(_ w: inout PrometheusText, _ snap: ServingSnapshot) {
        let s = publisher.stats
        w.family("cairn_snapshot_rebuilds_total", .counter,
                 "Snapshots published, by kind: full (zones loaded: the zone index too), gslb (configuration changed: pools and topology around the shared zone index) or incremental (only pools whose health or overrides changed).")
        let kinds = [("full", s.fullRebuilds, s.fullDuration), ("gslb", s.gslbRebuilds, s.gslbDuration),
                     ("incremental", s.incrementalRebuilds, s.incrementalDuration)]
        for (kind, count, _) in kinds { w.sample("cairn_snapshot_rebuilds_total", [("kind", kind)], count) }
        w.single("cairn_snapshot_rebuild_failures_total", .counter, "Snapshot builds that failed; the previous snapshot kept serving.", s.failedRebuilds)
        w.family("cairn_snapshot_rebuild_duration_seconds", .histogram, "Time to build and publish a snapshot, by kind.")
        for (kind, _, duration) in kinds { w.histogram("cairn_snapshot_rebuild_duration_seconds", [("kind", kind)], duration) }
        w.single("cairn_snapshot_generation", .gauge, "Build number of the snapshot being served.", snap.generation)
        w.single("cairn_snapshot_last_publish_timestamp_seconds", .gauge,
                 "When the serving snapshot was published, seconds since the Unix epoch (0 before the first).", s.lastPublished)
        w.single("cairn_snapshot_names", .gauge, "Names answered by the serving snapshot (all zones, empty non-terminals and pool names included).", snap.nameCount)
        w.single("cairn_snapshot_pools", .gauge, "GSLB pools answering in the serving snapshot.", snap.pools.count)
        w.single("cairn_snapshot_issues", .gauge, "Problems found by the last full or GSLB build (pools left out, with why: see the log).", snap.issues.count)
        w.single("cairn_store_changes_total", .counter,
                 "Times the store's change token was seen to move (a commit by any process, Cairn's own health writes included).", s.storeChanges)
        w.single("cairn_store_read_errors_total", .counter, "Store reads that failed; the previous GSLB state kept serving.", s.storeReadErrors)
        w.single("cairn_store_up", .gauge, "1 when the last store read worked, 0 while the store (database) is unreachable and the last snapshot serves.", s.storeUp ? 1 : 0)
        w.single("cairn_store_cache_serving", .gauge, "1 while the configuration served comes from the local cache (--store-cache: the store was unreachable at start and has not answered since), else 0.", s.servingCacheSavedAt == nil ? 0 : 1)
        w.family("cairn_zone_serial", .gauge, "SOA serial of each served zone.")
        let stale = Set(s.staleZones)
        let zones = snap.zones.sorted { $0.origin.description < $1.origin.description }
        for z in zones { w.sample("cairn_zone_serial", [("zone", z.origin.description)], UInt64(z.serial)) }
        w.family("cairn_zone_stale", .gauge, "1 when the zone's file failed to load and its previous version is served.")
        for z in zones { w.sample("cairn_zone_stale", [("zone", z.origin.description)], stale.contains(z.origin.description) ? 1 : 0) }
        w.single("cairn_zone_load_errors", .gauge, "Zone files that failed to load in the last reload.", s.zoneLoadErrors)
        w.single("cairn_zones_indexed_total", .counter,
                 "Zones indexed from their files (at start, then each zone whose files changed; the others are kept from the index being served).", s.zonesIndexed)
        w.single("cairn_zone_reloads_unchanged_total", .counter,
                 "Reloads (SIGHUP, POST /v1/zones/reload) that found every zone file unchanged: nothing read again, the zone index kept.", s.unchangedReloads)
    }

    func renderProcess(_ w: inout PrometheusText) {
        let p = ProcessStats.read()
        let gauges: [(String, PrometheusText.Kind, String, Double?)] = [
            ("process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.", p.cpuSeconds),
            ("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.", p.residentBytes),
            ("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.", p.virtualBytes),
            ("process_open_fds", .gauge, "Number of open file descriptors.", p.openFDs),
            ("process_max_fds", .gauge, "Maximum number of open file descriptors.", p.maxFDs),
        ]
        for case let (name, kind, help, value?) in gauges { w.single(name, kind, help, value) }
        w.single("process_start_time_seconds", .gauge, "Start time of the process since unix epoch in seconds.", ProcessStats.startTime)
    }
}
