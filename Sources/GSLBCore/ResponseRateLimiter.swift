import Synchronization

/// What kind of response a rate is kept for: NSD's RRL classes (`rrl.h`), in NSD's order of
/// classification. Each class of a client network has its own bucket, keyed with a name that
/// spoofed floods cannot vary at will (NSD's choice): the query name for answers, the zone
/// apex for NXDOMAIN, NODATA and errors, the delegation point for referrals, the wildcard for
/// wildcard answers.
public enum RRLClass: Int, CaseIterable, Sendable {
    case nxdomain, error, referral, any, rrsig, wildcard, nodata, dnskey, positive

    /// NSD's name of the class (`rrl-whitelist: nxdomain`), and the metrics' `class` label: the case's own name.
    public var name: String { String(describing: self) }

    /// `nxdomain` ... `positive`, or `all` for every class (NSD's `rrl-whitelist` words).
    public static func parse(_ text: String) -> [RRLClass]? {
        let t = text.lowercased()
        if t == "all" { return allCases }
        return allCases.first(where: { $0.name == t }).map { [$0] }
    }
}

/// Response rate limiting (`cairn serve --rrl-*`), with NSD's defaults where NSD has one.
public struct RRLConfiguration: Sendable, Equatable {
    /// Responses per second per client network and class; 0 = RRL off (NSD `rrl-ratelimit`, 200).
    public var ratelimit: Int
    /// ... for the classes in `whitelist`; 0 = those classes are not limited (NSD `rrl-whitelist-ratelimit`, 2000).
    public var whitelistRatelimit: Int
    /// Classes limited at `whitelistRatelimit` instead (NSD `rrl-whitelist`, per zone there, for all zones here).
    public var whitelist: [RRLClass]
    /// Every `slip`th limited response is sent truncated (TC=1, question only), the others dropped;
    /// 0 = drop all, 1 = truncate all (NSD `rrl-slip`, 2).
    public var slip: Int
    /// Seconds of responses a quiet bucket holds: a client may send `ratelimit × window` at once,
    /// then `ratelimit` per second (BIND's and Knot's `window`).
    public var window: Int
    /// Client networks: IPv4 addresses are counted per /`ipv4Prefix`, IPv6 per /`ipv6Prefix`.
    public var ipv4Prefix: Int
    public var ipv6Prefix: Int
    /// Client networks never limited (`--rrl-exempt`).
    public var exempt: [CIDR]
    /// Buckets in the table (NSD `rrl-size`, 1,000,000): 8 octets each, allocated at start.
    public var tableSize: Int

    public static let defaultRatelimit = 200
    public static let defaultWhitelistRatelimit = 2000
    public static let defaultSlip = 2
    public static let defaultWindow = 1
    public static let defaultIPv4Prefix = 24
    public static let defaultIPv6Prefix = 56
    public static let defaultTableSize = 1_000_000
    /// Limits of the flags' values.
    public static let maxRatelimit = 1_000_000
    public static let maxWindow = 3600
    public static let maxSlip = 1000
    public static let maxTableSize = 1 << 24

    public init(ratelimit: Int = defaultRatelimit, whitelistRatelimit: Int = defaultWhitelistRatelimit,
                whitelist: [RRLClass] = [], slip: Int = defaultSlip, window: Int = defaultWindow,
                ipv4Prefix: Int = defaultIPv4Prefix, ipv6Prefix: Int = defaultIPv6Prefix, exempt: [CIDR] = [],
                tableSize: Int = defaultTableSize) {
        self.ratelimit = ratelimit
        self.whitelistRatelimit = whitelistRatelimit
        self.whitelist = whitelist
        self.slip = slip
        self.window = window
        self.ipv4Prefix = ipv4Prefix
        self.ipv6Prefix = ipv6Prefix
        self.exempt = exempt
        self.tableSize = tableSize
    }

    /// No limiting (`--rrl-ratelimit 0`).
    public static let off = RRLConfiguration(ratelimit: 0)
    public var isOn: Bool { ratelimit > 0 }

    /// Every value out of its range, as `--flag: reason`.
    public var problems: [String] {
        var p: [String] = []
        if !(0...Self.maxRatelimit).contains(ratelimit) { p.append("--rrl-ratelimit: 0 to \(Self.maxRatelimit)") }
        if !(0...Self.maxRatelimit).contains(whitelistRatelimit) { p.append("--rrl-whitelist-ratelimit: 0 to \(Self.maxRatelimit)") }
        if !(0...Self.maxSlip).contains(slip) { p.append("--rrl-slip: 0 to \(Self.maxSlip)") }
        if !(1...Self.maxWindow).contains(window) { p.append("--rrl-window: 1 to \(Self.maxWindow) seconds") }
        if !(0...32).contains(ipv4Prefix) { p.append("--rrl-ipv4-prefix: 0 to 32") }
        if !(0...128).contains(ipv6Prefix) { p.append("--rrl-ipv6-prefix: 0 to 128") }
        if !(1...Self.maxTableSize).contains(tableSize) { p.append("--rrl-table-size: 1 to \(Self.maxTableSize)") }
        return p
    }
}

/// The shared table of response rates, read and written by every UDP worker without a lock.
///
/// One 64-bit word per bucket, updated with a compare-and-swap: 20 bits of the key's hash (a tag
/// telling keys that share a bucket apart) and 44 bits of time, the bucket's "theoretical arrival
/// time" (GCRA, the token bucket as one number): each response admitted moves it `1/ratelimit`
/// seconds ahead; a response is limited when it is more than `window − 1/ratelimit` seconds ahead
/// of now. So a quiet bucket admits `ratelimit × window` responses at once, then `ratelimit` per
/// second, and limited responses cost nothing (as Knot's token bucket; NSD also counts limited
/// queries, so a sustained flood there gets only slips). Time is in units of 64 ns (44 bits wrap
/// after 13 days: a bucket untouched for exactly that long may look busy once).
///
/// The table never grows: a key whose bucket holds another key takes it over (as NSD and Knot do),
/// so its size bounds memory whatever the traffic. Nothing here allocates after `init`.
public final class ResponseRateLimiter: @unchecked Sendable {
    public let configuration: RRLConfiguration
    private let table: UnsafeMutablePointer<Atomic<UInt64>>
    public let tableSize: Int
    /// Time per admitted response and the tolerance, in units, for normal and whitelisted classes.
    private let step: UInt64, tolerance: UInt64
    private let whitelistStep: UInt64, whitelistTolerance: UInt64
    private let whitelisted: UInt32
    private let seed: UInt64
    /// Nanoseconds of a monotonic clock (injected in tests).
    private let clock: @Sendable () -> UInt64

    static let timeBits: UInt64 = 44
    static let timeMask: UInt64 = (1 << timeBits) - 1
    /// Time units per second (64 ns each).
    static let unitsPerSecond: UInt64 = 15_625_000

    public init(_ configuration: RRLConfiguration, seed: UInt64? = nil,
                clock: @escaping @Sendable () -> UInt64 = CoarseClock.nanoseconds) {
        self.configuration = configuration
        self.clock = clock
        var g = SystemRandomNumberGenerator()
        self.seed = seed ?? g.next()
        tableSize = max(1, configuration.tableSize)
        table = .allocate(capacity: tableSize)
        for i in 0..<tableSize { (table + i).initialize(to: Atomic<UInt64>(0)) }
        func timing(_ rate: Int) -> (UInt64, UInt64) {
            guard rate > 0 else { return (0, 0) }
            let step = max(1, (Self.unitsPerSecond + UInt64(rate) / 2) / UInt64(rate))
            let window = UInt64(max(1, configuration.window)) * Self.unitsPerSecond
            return (step, window > step ? window - step : 0)
        }
        (step, tolerance) = timing(configuration.ratelimit)
        (whitelistStep, whitelistTolerance) = timing(configuration.whitelistRatelimit)
        whitelisted = configuration.whitelist.reduce(0) { $0 | 1 << UInt32($1.rawValue) }
    }

    deinit {
        table.deinitialize(count: tableSize)
        table.deallocate()
    }

    /// The bucket index and tag of (client network, class, name); the client network is the address cut to
    /// the configured prefix.
    @inline(__always)
    func slot(_ client: ClientAddress, _ c: RRLClass, _ name: [UInt8]) -> (index: Int, tag: UInt64) {
        let net = client.masked(client.family == 4 ? configuration.ipv4Prefix : configuration.ipv6Prefix)
        var h = Self.step(seed ^ (UInt64(c.rawValue) << 8 | UInt64(net.family)), net.hi)
        h = Self.step(h, net.lo)
        name.withUnsafeBytes { b in
            var i = 0
            while i + 8 <= b.count {
                h = Self.step(h, b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                i += 8
            }
            var tail: UInt64 = UInt64(b.count) << 56
            var s: UInt64 = 0
            while i < b.count { tail |= UInt64(b[i]) << s; s += 8; i += 1 }
            h = Self.mix(Self.step(h, tail))
        }
        let index = Int((UInt64(UInt32(truncatingIfNeeded: h)) &* UInt64(tableSize)) >> 32)
        return (index, h >> Self.timeBits)
    }

    /// One cheap round per 8 octets (multiply, shift); `mix` (SplitMix64's finalizer) once at the end.
    @inline(__always)
    static func step(_ h: UInt64, _ w: UInt64) -> UInt64 {
        let x = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
        return x ^ (x >> 29)
    }

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Whether a response of class `c` about `name` (a lower-cased wire name, see `RRLClass`) to
    /// `client` may go out now; when it may, it is counted. `false`: the client network is over its
    /// rate for this class and name (exemptions are the caller's: `isExempt`, cookies).
    @inline(__always)
    public func admit(client: ClientAddress, class c: RRLClass, name: [UInt8]) -> Bool {
        let white = whitelisted & (1 << UInt32(c.rawValue)) != 0
        let step = white ? whitelistStep : self.step
        guard step > 0 else { return true }
        let tolerance = white ? whitelistTolerance : self.tolerance
        let (index, tag) = slot(client, c, name)
        let now = (clock() >> 6) & Self.timeMask
        let bucket = table + index
        var old = bucket.pointee.load(ordering: .relaxed)
        for _ in 0..<4 {
            var ahead: UInt64 = 0
            if old >> Self.timeBits == tag {
                // How far ahead of now the bucket is; further than it can ever be = in the past.
                let d = ((old & Self.timeMask) &- now) & Self.timeMask
                if d <= tolerance &+ step { ahead = d }
            }
            if ahead > tolerance { return false }
            let new = tag << Self.timeBits | ((now &+ ahead &+ step) & Self.timeMask)
            let (done, seen) = bucket.pointee.compareExchange(expected: old, desired: new, ordering: .relaxed)
            if done { return true }
            old = seen
        }
        return true   // four workers raced on one bucket: let this one through
    }

    /// Whether `client` is in an `--rrl-exempt` network (asked only of responses over the limit).
    public func isExempt(_ client: ClientAddress) -> Bool { configuration.exempt.contains { $0.contains(client) } }

    /// Buckets that hold a client network's recent responses (not refilled yet): what the table
    /// tracks now. Reads the whole table (for `/metrics`, not the query path).
    public var activeBuckets: Int {
        let now = (clock() >> 6) & Self.timeMask
        let horizon = max(tolerance &+ step, whitelistTolerance &+ whitelistStep)
        var n = 0
        for i in 0..<tableSize {
            let w = table[i].load(ordering: .relaxed)
            guard w != 0 else { continue }
            let d = ((w & Self.timeMask) &- now) & Self.timeMask
            if d > 0 && d <= horizon { n += 1 }
        }
        return n
    }
}
