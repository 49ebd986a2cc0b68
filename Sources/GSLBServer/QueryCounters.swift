import Synchronization

/// Query totals by RCODE, for logs and metrics. Workers count locally and add
/// their totals every few thousand queries or when idle, so the lock here is
/// never taken per query.
public final class QueryCounters: Sendable {
    private let byRcode = Mutex<[UInt64]>([UInt64](repeating: 0, count: 24))
    private let other = Mutex<(dropped: UInt64, tcp: UInt64)>((0, 0))

    public init() {}

    func add(_ local: inout LocalCounters) {
        byRcode.withLock { a in
            for i in 0..<24 where local.rcodes[i] > 0 { a[i] += local.rcodes[i]; local.rcodes[i] = 0 }
        }
        other.withLock { $0.dropped += local.dropped; $0.tcp += local.tcp }
        local.dropped = 0
        local.tcp = 0
    }

    public func count(rcode: Int) -> UInt64 { byRcode.withLock { $0[min(rcode, 23)] } }
    public var dropped: UInt64 { other.withLock { $0.dropped } }
    public var tcpQueries: UInt64 { other.withLock { $0.tcp } }
    public var answered: UInt64 { byRcode.withLock { $0.reduce(0, +) } }
}

struct LocalCounters {
    var rcodes = [UInt64](repeating: 0, count: 24)
    var dropped: UInt64 = 0
    var tcp: UInt64 = 0
    var pending = 0

    @inline(__always)
    mutating func count(response: UnsafeRawBufferPointer?) {
        pending += 1
        guard let r = response, r.count >= 12 else { dropped += 1; return }
        rcodes[Int(r[3] & 0x0F)] += 1
    }

    mutating func flush(into c: QueryCounters) {
        guard pending > 0 else { return }
        c.add(&self)
        pending = 0
    }
}
