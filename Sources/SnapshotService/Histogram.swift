/// A Prometheus histogram's state: counts per upper bound (not cumulative here;
/// `PrometheusText` accumulates them when it writes the `_bucket` lines), sum and count.
public struct Histogram: Sendable, Hashable {
    /// Upper bounds in seconds, ascending; `+Inf` is implicit.
    public let bounds: [Double]
    /// Observations per bucket: `counts[i]` for `bounds[i]`, the last one for `+Inf`.
    public private(set) var counts: [UInt64]
    public private(set) var sum: Double = 0
    public private(set) var count: UInt64 = 0

    public init(bounds: [Double]) {
        self.init(bounds: bounds, counts: [UInt64](repeating: 0, count: bounds.count + 1), sum: 0)
    }

    /// A histogram from counts kept elsewhere (`counts`: one per bound, then `+Inf`).
    public init(bounds: [Double], counts: [UInt64], sum: Double) {
        precondition(counts.count == bounds.count + 1)
        self.bounds = bounds
        self.counts = counts
        self.sum = sum
        self.count = counts.reduce(0, +)
    }

    public mutating func observe(_ v: Double) {
        var i = 0
        while i < bounds.count && v > bounds[i] { i += 1 }
        counts[i] += 1
        sum += v
        count += 1
    }

    /// Probe round trips: half a millisecond to ten seconds.
    public static let probeBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Snapshot rebuilds: from 50 µs (a few pools) to ten seconds (millions of names).
    public static let rebuildBounds: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1, 0.25, 0.5, 1, 2.5, 5, 10]
}
