/// A source of random numbers, injected so that policies are tested exactly.
public protocol RandomSource {
    mutating func next() -> UInt64
}

extension RandomSource {
    /// Uniform in 0..<n (n > 0), by rejection to avoid modulo bias.
    public mutating func below(_ n: UInt64) -> UInt64 {
        precondition(n > 0)
        let limit = UInt64.max - UInt64.max % n
        while true {
            let v = next()
            if v < limit { return v % n }
        }
    }
}

/// SplitMix64: small, fast, good enough for load balancing (not for secrets).
public struct SplitMix64: RandomSource, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    /// The mix of the advanced state: `mix64` adds the same increment before mixing.
    public mutating func next() -> UInt64 {
        defer { state &+= 0x9E37_79B9_7F4A_7C15 }
        return mix64(state)
    }
}

/// A 64-bit mix for hashing (consistent-hash scores).
@inline(__always) public func mix64(_ x0: UInt64) -> UInt64 {
    var z = x0 &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// FNV-1a over bytes, for stable per-member seeds.
public func fnv1a(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h ^= UInt64(b); h = h &* 0x100_0000_01b3 }
    return h
}
