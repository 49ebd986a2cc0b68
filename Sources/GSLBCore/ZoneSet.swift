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
    public init(zones: [ZoneContent], failures: [Failure], complete: Bool = true) {
        self.zones = zones; self.failures = failures; self.complete = complete
    }
}

/// Reads zones from somewhere (the `zones/` directory through ldns, or memory in tests).
public protocol ZoneSource: Sendable {
    func loadZones() -> ZoneLoadResult
}

/// The zones being served, with the rule that a zone that fails to reload
/// keeps serving its previous good version.
public struct ZoneSet: Sendable {
    public private(set) var zones: [DomainName: ZoneContent] = [:]
    /// Zones that failed in the last load and are served from an older version.
    public private(set) var stale: Set<DomainName> = []

    public init() {}

    /// Applies a load: good zones replace their previous version; failed zones keep
    /// the previous good one; zones no longer present (and not failing) are dropped.
    /// An incomplete load (the directory could not be listed) says nothing about which zones
    /// exist: every zone keeps its version, marked stale.
    public mutating func apply(_ r: ZoneLoadResult) {
        guard r.complete else {
            stale = Set(zones.keys)
            return
        }
        var next: [DomainName: ZoneContent] = [:]
        for z in r.zones { next[z.origin] = z }
        var staleNow: Set<DomainName> = []
        for f in r.failures {
            guard let o = f.origin, next[o] == nil, let old = zones[o] else { continue }
            next[o] = old
            staleNow.insert(o)
        }
        zones = next
        stale = staleNow
    }

    public var sorted: [ZoneContent] { zones.values.sorted { $0.origin < $1.origin } }
}
