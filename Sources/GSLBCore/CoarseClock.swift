import Foundation

/// The coarse monotonic clock (Linux `CLOCK_MONOTONIC_COARSE`: read from the vDSO without a system
/// call, a few milliseconds of resolution): what the query path may read per batch or per response.
public enum CoarseClock {
    @Sendable public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        #else
        clock_gettime(CLOCK_MONOTONIC, &ts)
        #endif
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
