import GSLBCore
import Testing

@Suite struct HealthStateMachineTests {
    @Test func riseAndFallTransitionsHappenAtExactlyTheRightProbe() {
        var m = HealthStateMachine(rise: 2, fall: 3)
        #expect(m.state == .unknown)
        #expect(m.record(ok: true, at: 1) == nil)
        #expect(m.record(ok: true, at: 2) == .init(from: .unknown, to: .up, at: 2))
        #expect(m.record(ok: false, at: 3) == nil)
        #expect(m.record(ok: false, at: 4) == nil)
        #expect(m.record(ok: false, at: 5) == .init(from: .up, to: .down, at: 5))
        #expect(m.since == 5)
        #expect(m.record(ok: true, at: 6) == nil)
        #expect(m.record(ok: true, at: 7) == .init(from: .down, to: .up, at: 7))
        #expect(m.flaps == 2)
    }

    @Test func withAClockAtOneSecondIntervalsFallTwoMarksDownTwoSecondsAfterTheFirstMissedProbe() {
        // interval 1 s, fall 2: a backend dying at t=10.3 fails the probes at 11 and 12 → down at 12.
        var m = HealthStateMachine(rise: 2, fall: 2)
        var t = 0.0
        var downAt: Double?
        while t < 20 {
            t += 1
            if let tr = m.record(ok: t < 10.3, at: t), tr.to == .down { downAt = tr.at }
        }
        #expect(downAt == 12)
    }

    @Test func aMemberAlternatingSuccessAndFailureNeverFlapsWhenRiseIsAboveOne() {
        var m = HealthStateMachine(rise: 2, fall: 2, initial: .up)
        for i in 0..<1000 { #expect(m.record(ok: i % 2 == 0, at: Double(i)) == nil) }
        #expect(m.state == .up)
        #expect(m.flaps == 0)
        var d = HealthStateMachine(rise: 2, fall: 2, initial: .down)
        for i in 0..<1000 { _ = d.record(ok: i % 2 == 1, at: Double(i)) }
        #expect(d.state == .down && d.flaps == 0)
    }

    @Test func aStaleColdStartStateIsKeptUntilAVerdictConfirmsOrReplacesIt() {
        var m = HealthStateMachine(rise: 2, fall: 2, initial: .down, since: 100, stale: true)
        #expect(m.stale && m.state == .down)
        #expect(m.record(ok: false, at: 101) == nil)
        #expect(m.record(ok: false, at: 102) == nil)
        #expect(!m.stale && m.state == .down && m.since == 100)
        var u = HealthStateMachine(rise: 1, fall: 2, initial: .down, stale: true)
        #expect(u.record(ok: true, at: 5)?.to == .up)
        #expect(!u.stale)
    }
}
