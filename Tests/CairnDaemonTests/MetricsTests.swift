import DNSWire
import Foundation
import GSLBCore
@testable import CairnDaemon
import SnapshotService
import DNSService
import HealthService
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real DNSServer on 127.0.0.1 port 0 over an in-memory zone and GSLB state,
/// queried over real UDP and TCP; the metrics text is parsed and checked.
@Suite struct MetricsTests {
    // MARK: fixtures

    static let origin = try! DomainName("metrics.test.")
    static let weirdSite = "we\"ird\\site"

    struct MemoryZones: ZoneSource {
        let serial: UInt32
        func loadZones() -> ZoneLoadResult {
            let o = MetricsTests.origin
            let soa = ResourceRecord(name: o, type: .soa, ttl: 3600,
                                     rdata: (try! DomainName("ns.metrics.test.")).wire + (try! DomainName("hostmaster.metrics.test.")).wire
                                         + [UInt8(serial >> 24), UInt8((serial >> 16) & 0xff), UInt8((serial >> 8) & 0xff), UInt8(serial & 0xff),
                                            0, 0, 14, 16, 0, 0, 2, 88, 0, 9, 58, 128, 0, 0, 0, 60])
            return ZoneLoadResult(zones: [ZoneContent(origin: o, records: [
                soa,
                ResourceRecord(name: o, type: .ns, ttl: 3600, rdata: (try! DomainName("ns.metrics.test.")).wire),
                ResourceRecord(name: try! DomainName("ns.metrics.test."), type: .a, ttl: 3600, rdata: [192, 0, 2, 53]),
            ], source: "memory")], failures: [])
        }
    }

    /// A fixed GSLB state whose change token moves when told to.
    final class MemoryRepository: ConfigRepository {
        let stateBox: Mutex<GSLBState>
        let token = Mutex<Int64>(1)
        init(_ state: GSLBState) { stateBox = Mutex(state) }
        func loadState() throws -> GSLBState { stateBox.withLock { $0 } }
        /// A commit that changes the state: the token moves too.
        func set(_ s: GSLBState) { stateBox.withLock { $0 = s }; bump() }
        func replaceConfig(_ config: GSLBConfig, principal: String, source: String, prune: Bool) throws -> [AuditEntry] { [] }
        func recordHealth(_ h: MemberHealth) throws {}
        func changeToken() throws -> Int64 { token.withLock { $0 } }
        func bump() { token.withLock { $0 += 1 } }
    }

    static func gslb() -> GSLBState {
        let web = Monitor(name: "web", type: .tcp, port: 80, intervalMs: 100, timeoutMs: 50, rise: 1, fall: 1)
        let pools = [
            Pool(name: "www.metrics.test.", policy: .failover, monitor: "web", members: [
                Member(site: "fra", address: "192.0.2.1", priority: 1),
                Member(site: "ams", address: "192.0.2.2", priority: 2),
            ]),
            Pool(name: "www.metrics.test.", type: "AAAA", policy: .failover, members: [
                Member(site: weirdSite, address: "2001:db8::1"),
            ]),
            Pool(name: "none.metrics.test.", policy: .failover, fallback: .none, members: [
                Member(site: "fra", address: "192.0.2.9"),
            ]),
        ]
        let down = Override(scope: .member, target: "none.metrics.test./192.0.2.9", state: .down, reason: "test",
                            principal: "test", expiresAt: nil, createdAt: 0)
        return GSLBState(config: GSLBConfig(sites: [Site(name: "fra"), Site(name: "ams"), Site(name: weirdSite)], pools: pools,
                                            monitors: [web]),
                         overrides: [down])
    }

    /// Probes answer up for 192.0.2.1 and down for everything else.
    struct FakeProber: Prober {
        func probe(_ spec: ProbeSpec) async -> ProbeResult {
            ProbeResult(ok: spec.address == "192.0.2.1", latency: 0.003, detail: "fake")
        }
    }

    final class Running: Sendable {
        let repository: MemoryRepository
        let publisher: SnapshotPublisher
        let server: DNSServer
        let port: Int
        init(rrl: RRLConfiguration = .off) throws {
            repository = MemoryRepository(MetricsTests.gslb())
            publisher = SnapshotPublisher(source: MemoryZones(serial: 2024_06_01), repository: repository)
            publisher.reload()
            server = DNSServer(configuration: DNSServerConfiguration(addresses: [("127.0.0.1", 0)], udpWorkers: 1, rrl: rrl),
                               box: publisher.box)
            port = try server.start().first { $0.transport == "udp" }!.port
        }
        func stop() { server.stop() }
    }

    // MARK: a tiny client

    static func sockaddr4(_ port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return a
    }

    static func setTimeout(_ fd: Int32, _ seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends one datagram; returns the reply, nil when none came (`expectReply` false: don't wait).
    @discardableResult
    static func udp(_ bytes: [UInt8], port: Int, expectReply: Bool = true) -> [UInt8]? {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        setTimeout(fd, 2)
        var addr = sockaddr4(port)
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard expectReply else { return nil }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buf, buf.count, 0)
        return n > 0 ? Array(buf[0..<n]) : nil
    }

    static func ask(_ name: String, _ type: RecordType, port: Int) throws -> Message {
        let q = QueryBuilder.make(name: try DomainName(name), type: type)
        let r = try #require(udp(q, port: port))
        return try Message(bytes: r)
    }

    static func askTCP(_ name: String, _ type: RecordType, port: Int) throws -> Message {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        setTimeout(fd, 2)
        var addr = sockaddr4(port)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(rc == 0)
        let q = QueryBuilder.make(name: try DomainName(name), type: type)
        let framed = [UInt8(q.count >> 8), UInt8(q.count & 0xff)] + q
        _ = framed.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        func read(_ n: Int) -> [UInt8]? {
            var out = [UInt8](repeating: 0, count: n)
            var got = 0
            while got < n {
                let r = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, n - got, 0) }
                if r <= 0 { return nil }
                got += r
            }
            return out
        }
        let len = try #require(read(2))
        let body = try #require(read(Int(len[0]) << 8 | Int(len[1])))
        return try Message(bytes: body)
    }

    /// Renders until `ready` holds (workers add their counts within about a second), at most 10 s.
    static func waitFor(_ metrics: Metrics, _ ready: (Exposition) -> Bool) async throws -> Exposition {
        var last = try Exposition.parse(metrics.render())
        for _ in 0..<200 {
            if ready(last) { return last }
            try await Task.sleep(nanoseconds: 50_000_000)
            last = try Exposition.parse(metrics.render())
        }
        return last
    }

    // MARK: tests

    @Test func queryCountersMoveByTheQueriesSentPerTransportTypeAndRcode() async throws {
        let r = try Running()
        defer { r.stop() }
        let metrics = Metrics(dns: r.server, publisher: r.publisher)
        let before = try Exposition.parse(metrics.render())

        for _ in 0..<5 { #expect(try MetricsTests.ask("www.metrics.test.", .a, port: r.port).rcode == .noError) }
        for _ in 0..<3 { #expect(try MetricsTests.ask("nope.metrics.test.", .a, port: r.port).rcode == .nxDomain) }
        for _ in 0..<2 { #expect(try MetricsTests.ask("www.metrics.test.", .aaaa, port: r.port).rcode == .noError) }
        #expect(try MetricsTests.ask("www.metrics.test.", RecordType(rawValue: 999), port: r.port).rcode == .noError)
        #expect(try MetricsTests.ask("www.other.", .a, port: r.port).rcode == .refused)
        MetricsTests.udp([1, 2, 3], port: r.port, expectReply: false)
        #expect(try MetricsTests.askTCP("www.metrics.test.", .a, port: r.port).rcode == .noError)

        let q = "cairn_dns_queries_total"
        let after = try await MetricsTests.waitFor(metrics) { e in
            e.value(q, ["transport": "udp", "type": "other", "rcode": "NOERROR"]) == 1
                && e.value(q, ["transport": "tcp", "type": "A", "rcode": "NOERROR"]) == 1
                && e.value("cairn_dns_dropped_total", ["transport": "udp"]) == 1
                && e.value(q, ["transport": "udp", "type": "A", "rcode": "REFUSED"]) == 1
        }
        #expect(after.delta(from: before, q, ["transport": "udp", "type": "A", "rcode": "NOERROR"]) == 5)
        #expect(after.delta(from: before, q, ["transport": "udp", "type": "A", "rcode": "NXDOMAIN"]) == 3)
        #expect(after.delta(from: before, q, ["transport": "udp", "type": "AAAA", "rcode": "NOERROR"]) == 2)
        #expect(after.delta(from: before, q, ["transport": "udp", "type": "other", "rcode": "NOERROR"]) == 1)
        #expect(after.delta(from: before, q, ["transport": "udp", "type": "A", "rcode": "REFUSED"]) == 1)
        #expect(after.delta(from: before, q, ["transport": "tcp", "type": "A", "rcode": "NOERROR"]) == 1)
        #expect(after.delta(from: before, "cairn_dns_dropped_total", ["transport": "udp"]) == 1)
        #expect(after.delta(from: before, "cairn_dns_dropped_total", ["transport": "tcp"]) == 0)
        // Nothing else moved.
        #expect(after.sum(q) - before.sum(q) == 13)
        #expect(r.server.counters.answered == 13)
        #expect(r.server.counters.tcpQueries == 1)
        #expect(r.server.counters.count(rcode: 3) == 3)
        // Every response's size, per transport: 12 over UDP, 1 over TCP, all of them small answers.
        let size = "cairn_dns_response_size_bytes"
        #expect(after.delta(from: before, size + "_count", ["transport": "udp"]) == 12)
        #expect(after.delta(from: before, size + "_count", ["transport": "tcp"]) == 1)
        #expect(after.delta(from: before, size + "_bucket", ["transport": "udp", "le": "+Inf"]) == 12)
        #expect(after.delta(from: before, size + "_bucket", ["transport": "udp", "le": "512"]) == 12)
        let octets = after.delta(from: before, size + "_sum", ["transport": "udp"])
        #expect(octets >= 12 * 29 && octets <= 12 * 200, "\(octets) octets in 12 responses")
        // Per zone: the 11 UDP responses for names in metrics.test. (not the REFUSED one outside it) and the TCP one.
        let zone = "cairn_zone_queries_total"
        #expect(after.delta(from: before, zone, ["zone": "metrics.test.", "transport": "udp"]) == 11)
        #expect(after.delta(from: before, zone, ["zone": "metrics.test.", "transport": "tcp"]) == 1)
        #expect(after.sum(zone) - before.sum(zone) == 12)
    }

    @Test func rateLimitedResponsesCountByActionAndClassAndOnlyWhenRRLIsOn() async throws {
        let off = try Running()
        #expect(!Metrics(dns: off.server, publisher: off.publisher).render().contains("cairn_rrl_"))
        off.stop()
        let r = try Running(rrl: RRLConfiguration(ratelimit: 2, slip: 2, window: 60))
        defer { r.stop() }
        let metrics = Metrics(dns: r.server, publisher: r.publisher)
        // 2 answers a second and a window of 60 s: 120 at once, then every 2nd limited one slips.
        for _ in 0..<130 { MetricsTests.udp(QueryBuilder.make(name: MetricsTests.origin, type: .soa), port: r.port, expectReply: false) }
        let nope = try DomainName("nope.metrics.test.")
        for _ in 0..<4 { MetricsTests.udp(QueryBuilder.make(name: nope, type: .a), port: r.port, expectReply: false) }
        let e = try await MetricsTests.waitFor(metrics) { e in
            e.value("cairn_rrl_limited_total", ["action": "drop", "class": "positive"]) == 5
                && e.value("cairn_rrl_limited_total", ["action": "slip", "class": "positive"]) == 5
        }
        #expect(e.value("cairn_rrl_limited_total", ["action": "drop", "class": "positive"]) == 5)
        #expect(e.value("cairn_rrl_limited_total", ["action": "slip", "class": "positive"]) == 5)
        #expect(e.value("cairn_rrl_limited_total", ["action": "drop", "class": "nxdomain"]) == nil)
        #expect(e.value("cairn_rrl_exempt_total", ["reason": "cookie"]) == 0)
        #expect(e.value("cairn_rrl_table_size", [:]) == 1_000_000)
        // The SOA bucket is 60 s from refilled; the NXDOMAIN one (4 of 120) refills within 2 s.
        #expect((1...2).contains(e.value("cairn_rrl_table_entries", [:]) ?? 0))
        // Slipped responses are written, so they count as responses; dropped ones do not.
        #expect(e.sum("cairn_dns_queries_total") == 120 + 5 + 4)
    }

    @Test func poolAnswersCountPerSiteAndMemberAndFallbackAnswersPerPool() async throws {
        let r = try Running()
        defer { r.stop() }
        let metrics = Metrics(dns: r.server, publisher: r.publisher)
        for _ in 0..<4 { _ = try MetricsTests.ask("www.metrics.test.", .a, port: r.port) }
        for _ in 0..<2 { _ = try MetricsTests.ask("www.metrics.test.", .aaaa, port: r.port) }
        // Its only member is forced down and the fallback is `none`: NOERROR, no data, a fallback answer.
        let none = try MetricsTests.ask("none.metrics.test.", .a, port: r.port)
        #expect(none.answer.isEmpty)
        _ = try MetricsTests.askTCP("www.metrics.test.", .a, port: r.port)

        let a = ["pool": "www.metrics.test.", "type": "A"]
        let e = try await MetricsTests.waitFor(metrics) { e in
            e.value("cairn_pool_answers_total", a.merging(["site": "fra"]) { $1 }) == 5
                && e.value("cairn_pool_fallback_answers_total", ["pool": "none.metrics.test.", "type": "A"]) == 1
                && e.value("cairn_pool_answers_total", ["pool": "www.metrics.test.", "type": "AAAA", "site": MetricsTests.weirdSite]) == 2
        }
        // Failover: every answer is the priority-1 member in fra.
        #expect(e.value("cairn_pool_answers_total", a.merging(["site": "fra"]) { $1 }) == 5)
        #expect(e.value("cairn_pool_answers_total", a.merging(["site": "ams"]) { $1 }) == nil)
        #expect(e.value("cairn_member_answers_total", a.merging(["site": "fra", "address": "192.0.2.1"]) { $1 }) == 5)
        #expect(e.value("cairn_pool_answers_total", ["pool": "www.metrics.test.", "type": "AAAA", "site": MetricsTests.weirdSite]) == 2)
        #expect(e.value("cairn_pool_fallback_answers_total", ["pool": "none.metrics.test.", "type": "A"]) == 1)
        // The escaped label as written on the wire.
        #expect(metrics.render().contains(#"site="we\"ird\\site""#))

        // A full rebuild makes a new layout: counts carry on from where they were.
        r.publisher.reload()
        for _ in 0..<3 { _ = try MetricsTests.ask("www.metrics.test.", .a, port: r.port) }
        let e2 = try await MetricsTests.waitFor(metrics) { e in
            e.value("cairn_pool_answers_total", a.merging(["site": "fra"]) { $1 }) == 8
        }
        #expect(e2.value("cairn_pool_answers_total", a.merging(["site": "fra"]) { $1 }) == 8)
    }

    @Test func memberGaugesShowRealEffectiveAndForcedState() throws {
        let r = try Running()
        defer { r.stop() }
        let e = try Exposition.parse(Metrics(dns: r.server, publisher: r.publisher).render())
        let www = ["pool": "www.metrics.test.", "type": "A", "address": "192.0.2.1", "site": "fra"]
        // No probe yet: unknown is -1.
        #expect(e.value("cairn_member_up", www.merging(["state": "real"]) { $1 }) == -1)
        #expect(e.value("cairn_member_up", www.merging(["state": "effective"]) { $1 }) == -1)
        #expect(e.value("cairn_member_eligible", www) == 1)
        let none = ["pool": "none.metrics.test.", "type": "A", "address": "192.0.2.9", "site": "fra"]
        #expect(e.value("cairn_member_up", none.merging(["state": "real"]) { $1 }) == -1)
        #expect(e.value("cairn_member_up", none.merging(["state": "effective"]) { $1 }) == 0)
        #expect(e.value("cairn_member_forced", none.merging(["state": "down"]) { $1 }) == 1)
        #expect(e.value("cairn_member_forced", none.merging(["state": "drain"]) { $1 }) == 0)
        #expect(e.value("cairn_member_forced", www.merging(["state": "down"]) { $1 }) == 0)
        #expect(e.value("cairn_member_eligible", none) == 0)
    }

    @Test func snapshotAndStoreCountersFollowRebuildsAndTokenChanges() throws {
        let r = try Running()
        defer { r.stop() }
        let metrics = Metrics(dns: r.server, publisher: r.publisher)
        let before = try Exposition.parse(metrics.render())
        #expect(before.value("cairn_snapshot_rebuilds_total", ["kind": "full"]) == 1)
        #expect(before.value("cairn_zone_serial", ["zone": "metrics.test."]) == 2024_06_01)
        #expect(before.value("cairn_zone_stale", ["zone": "metrics.test."]) == 0)
        #expect(before.value("cairn_snapshot_generation", [:]) == Double(r.publisher.box.load().generation))
        #expect(before.value("cairn_snapshot_pools", [:]) == 3)

        // Nothing changed: no read, no rebuild.
        #expect(r.publisher.refreshIfChanged() == false)
        // Another process committed without changing the state (SQLite also sees the registry's heartbeats so):
        // the watcher sees the token move, reads, finds the same state and rebuilds nothing.
        r.repository.bump()
        #expect(r.publisher.refreshIfChanged() == false)
        // A commit that changes health: same config, so only pools are rebuilt.
        var changed = Self.gslb()
        changed.health = [MemberHealth(key: MemberKey(pool: "www.metrics.test.", address: "192.0.2.1"), state: .down, since: 5)]
        r.repository.set(changed)
        #expect(r.publisher.refreshIfChanged())
        r.publisher.reload()
        let after = try Exposition.parse(metrics.render())
        #expect(after.delta(from: before, "cairn_store_changes_total", [:]) == 2)
        #expect(after.delta(from: before, "cairn_snapshot_rebuilds_total", ["kind": "incremental"]) == 1)
        #expect(after.delta(from: before, "cairn_snapshot_rebuilds_total", ["kind": "full"]) == 1)
        #expect(after.value("cairn_snapshot_rebuild_duration_seconds_count", ["kind": "full"]) == 2)
        #expect(after.value("cairn_snapshot_rebuild_duration_seconds_count", ["kind": "incremental"]) == 1)
        #expect(after.delta(from: before, "cairn_snapshot_generation", [:]) == 2)
        #expect((after.value("process_resident_memory_bytes", [:]) ?? 0) > 0)
        #expect((after.value("process_start_time_seconds", [:]) ?? 0) > 1_600_000_000)
    }

    @Test func probesAndTransitionsShowInHistogramsCountersAndMemberGauges() async throws {
        let r = try Running()
        defer { r.stop() }
        let publisher = r.publisher
        let monitor = HealthMonitor(box: publisher.box, prober: FakeProber(),
                                    onColdStartEnd: { all in publisher.applyHealth(all, endColdStart: true) },
                                    onChange: { changes, _ in publisher.applyHealth(changes) })
        let task = Task.detached { await monitor.run() }
        defer { monitor.stop(); task.cancel() }
        let metrics = Metrics(dns: r.server, publisher: publisher, health: monitor)
        let up = ["pool": "www.metrics.test.", "type": "A", "address": "192.0.2.1", "site": "fra", "state": "real"]
        let down = ["pool": "www.metrics.test.", "type": "A", "address": "192.0.2.2", "site": "ams", "state": "real"]
        let e = try await MetricsTests.waitFor(metrics) { e in
            e.value("cairn_member_up", up) == 1 && e.value("cairn_member_up", down) == 0
                && (e.value("cairn_probes_total", ["monitor": "web", "monitor_type": "tcp", "result": "failure"]) ?? 0) >= 1
        }
        #expect(e.value("cairn_member_up", up) == 1)
        #expect(e.value("cairn_member_up", down) == 0)
        #expect(e.value("cairn_member_up", down.merging(["state": "effective"]) { $1 }) == 0)
        #expect(e.value("cairn_health_transitions_total", ["pool": "www.metrics.test.", "type": "A", "to": "up"]) == 1)
        #expect(e.value("cairn_health_transitions_total", ["pool": "www.metrics.test.", "type": "A", "to": "down"]) == 1)
        let ok = try #require(e.value("cairn_probes_total", ["monitor": "web", "monitor_type": "tcp", "result": "success"]))
        let failed = try #require(e.value("cairn_probes_total", ["monitor": "web", "monitor_type": "tcp", "result": "failure"]))
        #expect(ok >= 1 && failed >= 1)
        // Every probe took 3 ms: the count is the number of probes; all land in the 5 ms bucket, none in 2.5 ms.
        let count = e.value("cairn_probe_duration_seconds_count", ["monitor": "web", "monitor_type": "tcp"])
        #expect(count == ok + failed)
        #expect(e.value("cairn_probe_duration_seconds_bucket", ["monitor": "web", "monitor_type": "tcp", "le": "0.0025"]) == 0)
        #expect(e.value("cairn_probe_duration_seconds_bucket", ["monitor": "web", "monitor_type": "tcp", "le": "0.005"]) == count)
        #expect(e.value("cairn_probe_targets", [:]) == 2)
        #expect((e.value("cairn_snapshot_rebuilds_total", ["kind": "incremental"]) ?? 0) >= 1)
        // A label means one thing everywhere: `type` is a DNS record type (or `other`) in every family.
        let text = metrics.render()
        let typeValues = Set(text.matches(of: /[{,]type="([^"]*)"/).map { String($0.output.1) })
        #expect(!typeValues.isEmpty)
        for v in typeValues { #expect(v == "other" || RecordType(name: v) != nil, "type=\"\(v)\" is not a record type") }
    }

    @Test func theTextParsesAsPrometheusFormatWithHelpTypeAndCumulativeBuckets() async throws {
        let r = try Running()
        defer { r.stop() }
        let monitor = HealthMonitor(box: r.publisher.box, prober: FakeProber(), onChange: { _, _ in })
        let metrics = Metrics(dns: r.server, publisher: r.publisher, health: monitor)
        _ = try MetricsTests.ask("www.metrics.test.", .a, port: r.port)
        let text = metrics.render()
        #expect(text.hasSuffix("\n"))
        // `parse` checks the grammar, HELP/TYPE per family, contiguity and histogram shape; it throws on any violation.
        let e = try Exposition.parse(text)
        for family in ["cairn_dns_queries_total", "cairn_dns_dropped_total", "cairn_pool_answers_total", "cairn_member_up",
                       "cairn_member_forced", "cairn_probe_duration_seconds", "cairn_probes_total", "cairn_health_transitions_total",
                       "cairn_snapshot_rebuilds_total", "cairn_snapshot_rebuild_duration_seconds", "cairn_snapshot_generation",
                       "cairn_store_changes_total", "cairn_zone_serial", "process_cpu_seconds_total",
                       "process_resident_memory_bytes", "process_start_time_seconds"] {
            #expect(e.types[family] != nil, "no TYPE for \(family)")
            #expect(e.help[family] != nil, "no HELP for \(family)")
        }
        #expect(e.types["cairn_snapshot_rebuild_duration_seconds"] == "histogram")
        #expect(e.types["cairn_dns_queries_total"] == "counter")
        #expect(e.types["cairn_member_up"] == "gauge")
    }

    @Test func theParserRejectsBrokenText() {
        #expect(throws: (any Error).self) { try Exposition.parse("cairn_x 1\n") }
        #expect(throws: (any Error).self) {
            try Exposition.parse("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n")
        }
        #expect(throws: (any Error).self) {
            try Exposition.parse("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n")
        }
        #expect(throws: (any Error).self) { try Exposition.parse("# HELP c x\n# TYPE c counter\nc{a=\"b} 1\n") }
    }
}

/// A strict reader of Prometheus text format 0.0.4, for the tests.
struct Exposition {
    struct Sample { let name: String; let labels: [String: String]; let value: Double }
    struct ParseError: Error, CustomStringConvertible { let description: String }

    var help: [String: String] = [:]
    var types: [String: String] = [:]
    var samples: [Sample] = []

    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    func delta(from before: Exposition, _ name: String, _ labels: [String: String]) -> Double {
        (value(name, labels) ?? 0) - (before.value(name, labels) ?? 0)
    }

    func sum(_ name: String) -> Double { samples.filter { $0.name == name }.reduce(0) { $0 + $1.value } }

    static func fail(_ line: String, _ why: String) -> ParseError { ParseError(description: "\(why): \(line)") }

    static func parse(_ text: String) throws -> Exposition {
        var e = Exposition()
        var current: String?
        var finished = Set<String>()
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.isEmpty { continue }
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                guard isLabelOrMetricName(name), parts.count == 2 else { throw fail(line, "bad comment") }
                if line.hasPrefix("# HELP ") {
                    guard e.help[name] == nil else { throw fail(line, "second HELP") }
                    e.help[name] = String(parts[1])
                } else {
                    guard e.types[name] == nil else { throw fail(line, "second TYPE") }
                    guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(String(parts[1])) else { throw fail(line, "bad type") }
                    e.types[name] = String(parts[1])
                }
                if current != name {
                    if let c = current { finished.insert(c) }
                    guard !finished.contains(name) else { throw fail(line, "family not contiguous") }
                    current = name
                }
                continue
            }
            if line.hasPrefix("#") { continue }
            let s = try sample(line)
            var family = s.name
            for suffix in ["_bucket", "_sum", "_count"] where s.name.hasSuffix(suffix) {
                let base = String(s.name.dropLast(suffix.count))
                if e.types[base] == "histogram" { family = base }
            }
            guard family == current, e.types[family] != nil, e.help[family] != nil else {
                throw fail(line, "sample outside its family's HELP/TYPE")
            }
            if e.types[family] == "counter" { guard s.value >= 0 else { throw fail(line, "negative counter") } }
            e.samples.append(s)
        }
        try e.checkHistograms()
        return e
    }

    func checkHistograms() throws {
        for (family, type) in types where type == "histogram" {
            var series: [[String: String]: [(Double, Double)]] = [:]
            var order: [[String: String]] = []
            for s in samples where s.name == family + "_bucket" {
                var l = s.labels
                guard let le = l.removeValue(forKey: "le") else { throw Exposition.fail(s.name, "bucket without le") }
                let bound = le == "+Inf" ? Double.infinity : Double(le)
                guard let b = bound else { throw Exposition.fail(le, "bad le") }
                if series[l] == nil { order.append(l) }
                series[l, default: []].append((b, s.value))
            }
            for l in order {
                let buckets = series[l]!
                for i in 1..<max(1, buckets.count) {
                    guard buckets[i].0 > buckets[i - 1].0 else { throw Exposition.fail(family, "bounds not increasing") }
                    guard buckets[i].1 >= buckets[i - 1].1 else { throw Exposition.fail(family, "buckets not cumulative") }
                }
                guard buckets.last?.0 == .infinity else { throw Exposition.fail(family, "no +Inf bucket") }
                guard let count = value(family + "_count", l), count == buckets.last!.1 else {
                    throw Exposition.fail(family, "_count differs from the +Inf bucket")
                }
                guard value(family + "_sum", l) != nil else { throw Exposition.fail(family, "no _sum") }
            }
        }
    }

    /// `name{k="v",...} value`
    static func sample(_ line: String) throws -> Sample {
        let chars = Array(line.unicodeScalars)
        var i = 0
        var name = ""
        while i < chars.count, chars[i] != "{", chars[i] != " " { name.unicodeScalars.append(chars[i]); i += 1 }
        guard isLabelOrMetricName(name) else { throw fail(line, "bad metric name") }
        var labels: [String: String] = [:]
        if i < chars.count, chars[i] == "{" {
            i += 1
            while i < chars.count, chars[i] != "}" {
                var key = ""
                while i < chars.count, chars[i] != "=" { key.unicodeScalars.append(chars[i]); i += 1 }
                guard isLabelOrMetricName(key), !key.contains(":"), i + 1 < chars.count, chars[i + 1] == "\"" else {
                    throw fail(line, "bad label")
                }
                i += 2
                var value = ""
                var closed = false
                while i < chars.count {
                    let c = chars[i]
                    if c == "\\" {
                        guard i + 1 < chars.count else { throw fail(line, "bad escape") }
                        switch chars[i + 1] {
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        case "n": value += "\n"
                        default: throw fail(line, "bad escape")
                        }
                        i += 2
                        continue
                    }
                    if c == "\"" { closed = true; i += 1; break }
                    value.unicodeScalars.append(c)
                    i += 1
                }
                guard closed, labels[key] == nil else { throw fail(line, "unterminated or repeated label") }
                labels[key] = value
                if i < chars.count, chars[i] == "," { i += 1 } else if i < chars.count, chars[i] != "}" { throw fail(line, "bad separator") }
            }
            guard i < chars.count else { throw fail(line, "unterminated labels") }
            i += 1
        }
        guard i < chars.count, chars[i] == " " else { throw fail(line, "no value") }
        let rest = String(String.UnicodeScalarView(chars[(i + 1)...]))
        guard !rest.contains(" ") else { throw fail(line, "timestamps are not expected") }
        let value: Double
        switch rest {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let v = Double(rest), !rest.lowercased().contains("inf"), !rest.lowercased().contains("nan") else {
                throw fail(line, "bad value")
            }
            value = v
        }
        return Sample(name: name, labels: labels, value: value)
    }

    static func isLabelOrMetricName(_ s: String) -> Bool {
        guard let f = s.unicodeScalars.first else { return false }
        let first = f == "_" || f == ":" || ("a"..."z").contains(f) || ("A"..."Z").contains(f)
        return first && s.unicodeScalars.allSatisfy { $0 == "_" || $0 == ":" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
    }
}
