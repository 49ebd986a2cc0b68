import DNSWire
import Foundation
import GSLBCore
@testable import HealthService
import Testing

/// A CNAME pool's members are probed at their `probe.address`, else at their target's address in the served
/// zones; a target with neither is not probed.
@Suite struct CNAMETargetProbeTests {
    @Test func aCNAMEMemberIsProbedAtItsTargetsAddressOrItsProbeAddress() throws {
        let origin = try DomainName("gslb.test.")
        let soa = ResourceRecord(name: origin, type: .soa, ttl: 60,
                                 rdata: (try DomainName("ns.gslb.test.")).wire + (try DomainName("h.gslb.test.")).wire + [UInt8](repeating: 0, count: 20))
        let zone = ZoneContent(origin: origin, records: [
            soa,
            ResourceRecord(name: origin, type: .ns, ttl: 60, rdata: (try DomainName("ns.gslb.test.")).wire),
            ResourceRecord(name: try DomainName("fra.gslb.test."), type: .a, ttl: 60, rdata: [127, 0, 0, 141]),
        ], source: "memory")
        let monitor = Monitor(name: "m", type: .tcp, port: 80)
        let pool = Pool(name: "www.gslb.test.", type: "CNAME", monitor: "m", members: [
            Member(site: "fra", address: "fra.gslb.test."),
            Member(site: "fra", address: "edge.example.net.", probe: ProbeTarget(address: "127.0.0.142")),
            Member(site: "fra", address: "elsewhere.example.net."),
        ])
        let gslb = GSLBState(config: GSLBConfig(sites: [Site(name: "fra")], pools: [pool], monitors: [monitor]))
        let snap = try SnapshotBuilder().build(zones: [zone], gslb: gslb)
        let targets = HealthMonitor.targets(gslb, snapshot: snap)
        #expect(targets.map(\.spec.address) == ["127.0.0.141", "127.0.0.142"])
        #expect(targets.map(\.members) == [[MemberKey(pool: "www.gslb.test.", address: "fra.gslb.test.")],
                                           [MemberKey(pool: "www.gslb.test.", address: "edge.example.net.")]])
    }
}
