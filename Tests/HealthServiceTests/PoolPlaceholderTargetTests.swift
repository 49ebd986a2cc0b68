import GSLBCore
@testable import HealthService
import Testing

/// A member address in several pools is one probe target per monitor, except under a `command` monitor whose
/// argv names `{pool}`: that one runs once per pool, with the pool's name in place of `{pool}`.
@Suite struct PoolPlaceholderTargetTests {
    static func config(command: String) -> GSLBState {
        let monitors = [
            Monitor(name: "c", type: .command, options: ["command": command]),
            Monitor(name: "t", type: .tcp, port: 80),
        ]
        let pools = ["one.gslb.test.", "two.gslb.test."].map { name in
            Pool(name: name, monitor: "c", members: [
                Member(site: "a", address: "192.0.2.1"),
                Member(site: "a", address: "192.0.2.2", monitor: "t"),
            ])
        }
        return GSLBState(config: GSLBConfig(sites: [Site(name: "a")], pools: pools, monitors: monitors))
    }

    @Test func aCommandNamingPoolRunsOncePerPoolWithThePoolsName() {
        let targets = HealthMonitor.targets(Self.config(command: #"["/usr/local/bin/check", "{address}", "{pool}"]"#))
        #expect(targets.map { "\($0.spec.monitor.name) \($0.spec.address) [\($0.spec.poolName)]" } == [
            "c 192.0.2.1 [one.gslb.test.]", "t 192.0.2.2 []", "c 192.0.2.1 [two.gslb.test.]",
        ])
        #expect(targets.map(\.members) == [
            [MemberKey(pool: "one.gslb.test.", address: "192.0.2.1")],
            [MemberKey(pool: "one.gslb.test.", address: "192.0.2.2"), MemberKey(pool: "two.gslb.test.", address: "192.0.2.2")],
            [MemberKey(pool: "two.gslb.test.", address: "192.0.2.1")],
        ])
    }

    @Test func aCommandWithoutPoolRunsOnceForEveryPoolSharingTheTarget() {
        let targets = HealthMonitor.targets(Self.config(command: #"["/usr/local/bin/check", "{address}"]"#))
        #expect(targets.map { "\($0.spec.monitor.name) \($0.spec.address) [\($0.spec.poolName)]" } == [
            "c 192.0.2.1 []", "t 192.0.2.2 []",
        ])
        #expect(targets.first?.members == [MemberKey(pool: "one.gslb.test.", address: "192.0.2.1"),
                                           MemberKey(pool: "two.gslb.test.", address: "192.0.2.1")])
    }
}
