/// Rise/fall flap damping with HAProxy semantics: `rise` consecutive successes
/// make a target up, `fall` consecutive failures make it down; one result
/// against the current state resets the other counter. The state is
/// `unknown` until the first verdict (or the last known state from the
/// store, marked stale, until the first probe round ends).
public struct HealthStateMachine: Sendable, Hashable {
    public let rise: Int
    public let fall: Int
    public private(set) var state: HealthState
    /// When `state` began (seconds, injected clock).
    public private(set) var since: Double
    public private(set) var consecutiveSuccesses = 0
    public private(set) var consecutiveFailures = 0
    /// Transitions between up and down so far.
    public private(set) var flaps = 0
    /// True while the state comes from a previous run and no verdict confirmed it.
    public private(set) var stale: Bool

    public struct Transition: Sendable, Hashable {
        public let from: HealthState
        public let to: HealthState
        public let at: Double
        public init(from: HealthState, to: HealthState, at: Double) { self.from = from; self.to = to; self.at = at }
    }

    public init(rise: Int, fall: Int, initial: HealthState = .unknown, since: Double = 0, stale: Bool = false) {
        self.rise = max(1, rise)
        self.fall = max(1, fall)
        self.state = initial
        self.since = since
        self.stale = stale
    }

    /// Records one probe result; returns the transition when the state changed.
    public mutating func record(ok: Bool, at now: Double) -> Transition? {
        if ok {
            consecutiveSuccesses += 1
            consecutiveFailures = 0
        } else {
            consecutiveFailures += 1
            consecutiveSuccesses = 0
        }
        let target: HealthState? = ok ? (consecutiveSuccesses >= rise ? .up : nil) : (consecutiveFailures >= fall ? .down : nil)
        guard let t = target else { return nil }
        stale = false
        guard t != state else { return nil }
        let from = state
        if from != .unknown { flaps += 1 }
        state = t
        since = now
        return Transition(from: from, to: t, at: now)
    }

    /// The first probe round ended: a stale state is no longer claimed as current.
    public mutating func endColdStart() { stale = false }
}
