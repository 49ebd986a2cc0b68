import DNSWire

/// What a zone source returns: the zones that loaded, and what failed.
public struct ZoneLoadResult: Sendable {
    public struct Failure: Sendable, CustomStringConvertible {
        /// The zone the failure belongs to, when known (from the file name).
        public var origin: DomainName?
        /// `file:line: reason`.
        public var message: String
        public init(origin: DomainName?, message: String) { self.origin = origin; self.message = message }
        public var description: String { message }
    }
    public var zones: [ZoneContent]
    public var failures: [Failure]
    /// False when the source could not say which zones exist (the directory could not be listed): a zone
    /// missing from `zones` is then not gone.
    public var complete: Bool
    /// Zones whose files did not change since the source last loaded them (not read again, not in `zones`).
    public var unchanged: [DomainName]
    public init(zones: [ZoneContent], failures: [Failure], complete: Bool = true, unchanged: [DomainName] = []) {
        self.zones = zones; self.failures = failures; self.complete = complete; self.unchanged = unchanged
    }
}

/// Reads zones from somewhere (the `zones/` directory through ldns, or memory in tests).
public protocol ZoneSource: Sendable {
    /// Every zone, read again.
    func loadZones() -> ZoneLoadResult
    /// Like `loadZones()`, but a zone whose files did not change since this source last loaded it may be
    /// reported in `unchanged` instead of being read again.
    func loadChangedZones() -> ZoneLoadResult
}

extension ZoneSource {
    public func loadChangedZones() -> ZoneLoadResult { loadZones() }
}

/// The zones being served, with the rule that a zone that fails to reload
/// keeps serving its previous good version.
public struct ZoneSet: Sendable {
    /// Each zone's content; once `indexed()` says the zone index holds them, their records are dropped
    /// here (origin and source kept): the records live once, in the index.
    public private(set) var zones: [DomainName: ZoneContent] = [:]
    /// Zones that failed in the last load and are served from an older version.
    public private(set) var stale: Set<DomainName> = []
    /// Zones whose content arrived since the last `indexed()` (new or changed): the next index indexes
    /// these and takes the others from the index being served.
    public private(set) var changed: Set<DomainName> = []

    public init() {}

    /// Applies a load: good zones replace their previous version; failed and unchanged zones keep
    /// the previous one (failed ones marked stale); zones no longer present (and not failing) are dropped.
    /// An incomplete load (the directory could not be listed) says nothing about which zones
    /// exist: every zone keeps its version, marked stale.
    public mutating func apply(_ r: ZoneLoadResult) {
        guard r.complete else {
            stale = Set(zones.keys)
            return
        }
        var next = Dictionary(r.zones.map { ($0.origin, $0) }, uniquingKeysWith: { _, last in last })
        var changedNow = Set(r.zones.map(\.origin))
        var staleNow: Set<DomainName> = []
        func keep(_ o: DomainName) -> Bool {
            guard next[o] == nil, let old = zones[o] else { return false }
            next[o] = old
            if changed.contains(o) { changedNow.insert(o) }   // never indexed yet: still to index
            return true
        }
        for o in r.unchanged { _ = keep(o) }
        for f in r.failures {
            guard let o = f.origin, keep(o) else { continue }
            staleNow.insert(o)
        }
        zones = next
        stale = staleNow
        changed = changedNow
    }

    /// The zone index now holds every zone: drops their records here.
    public mutating func indexed() {
        for o in Array(zones.keys) {
            zones[o]?.records = []
            zones[o]?.lines = []
            zones[o]?.files = []
        }
        changed = []
    }

    public var sorted: [ZoneContent] { zones.values.sorted { $0.origin < $1.origin } }
}
