import NIOCore
import Synchronization

/// The admin API's open connections, for the total and per-address caps. Shared by the event loops
/// (one lock; it is taken at accept, close, and when a connection enters or leaves a request).
final class AdminConnectionTable: Sendable {
    enum Admission {
        /// Admitted; `evicted` (if any) was the oldest connection outside a request, to be closed.
        case admitted(evicted: (any Channel)?)
        case refusedAddress
        case refusedTotal
    }

    private struct Entry {
        let channel: any Channel
        let key: String
        let accepted: NIODeadline
        var inRequest = false
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var perKey: [String: Int] = [:]
        var refusedAddress = 0
        var refusedTotal = 0
        var evicted = 0
        var timedOut = 0
        var lastReport: NIODeadline?
    }

    let maxConnections: Int
    let maxPerAddress: Int
    private let state = Mutex(State())

    init(maxConnections: Int, maxPerAddress: Int) {
        self.maxConnections = max(1, maxConnections)
        self.maxPerAddress = max(1, maxPerAddress)
    }

    func admit(_ channel: any Channel, key: String, now: NIODeadline = .now()) -> Admission {
        state.withLock { s in
            if s.perKey[key, default: 0] >= maxPerAddress {
                s.refusedAddress += 1
                return .refusedAddress
            }
            var evicted: (any Channel)?
            if s.entries.count >= maxConnections {
                // The oldest connection that is not inside a request (a slow head, or idle): what a
                // slowloris holds. A connection being answered is never cut.
                guard let victim = s.entries.lazy.filter({ !$0.value.inRequest }).min(by: { $0.value.accepted < $1.value.accepted }) else {
                    s.refusedTotal += 1
                    return .refusedTotal
                }
                Self.drop(victim.key, from: &s)
                s.evicted += 1
                evicted = victim.value.channel
            }
            s.entries[ObjectIdentifier(channel)] = Entry(channel: channel, key: key, accepted: now)
            s.perKey[key, default: 0] += 1
            return .admitted(evicted: evicted)
        }
    }

    /// A connection entered (a head was read) or left (its last response was written) a request.
    func setInRequest(_ channel: any Channel, _ inRequest: Bool) {
        state.withLock { s in s.entries[ObjectIdentifier(channel)]?.inRequest = inRequest }
    }

    func remove(_ channel: any Channel) {
        state.withLock { s in Self.drop(ObjectIdentifier(channel), from: &s) }
    }

    private static func drop(_ id: ObjectIdentifier, from s: inout State) {
        guard let e = s.entries.removeValue(forKey: id) else { return }
        let left = s.perKey[e.key, default: 1] - 1
        s.perKey[e.key] = left > 0 ? left : nil
    }

    /// A connection was closed by one of its deadlines (for the report).
    func noteTimeout() { state.withLock { $0.timedOut += 1 } }

    /// What the caps and deadlines did since the last report, at most once per `interval` and only
    /// when a cap did something (a flood must not become a flood of log lines; a deadline alone is
    /// ordinary: a client that went away).
    func report(now: NIODeadline = .now(), interval: TimeAmount = .seconds(60)) -> String? {
        state.withLock { s in
            guard s.refusedAddress + s.refusedTotal + s.evicted > 0 else { return nil }
            if let last = s.lastReport, now < last + interval { return nil }
            var parts: [String] = []
            if s.refusedAddress > 0 { parts.append("\(s.refusedAddress) refused (over \(maxPerAddress) from one address)") }
            if s.refusedTotal > 0 { parts.append("\(s.refusedTotal) refused (\(maxConnections) open, all inside a request)") }
            if s.evicted > 0 { parts.append("\(s.evicted) slow or idle closed to make room (\(maxConnections) open at most)") }
            if s.timedOut > 0 { parts.append("\(s.timedOut) closed by a deadline") }
            let since = s.lastReport == nil ? "" : " since the last report"
            let text = "admin API connection limits\(since): " + parts.joined(separator: ", ")
            s.refusedAddress = 0
            s.refusedTotal = 0
            s.evicted = 0
            s.timedOut = 0
            s.lastReport = now
            return text
        }
    }

    /// The per-address key: the IPv4 address (an IPv4-mapped IPv6 address counts as its IPv4
    /// address), or the /64 of an IPv6 address (one host usually has a whole /64 to pick from).
    static func key(for address: SocketAddress?) -> String {
        switch address {
        case .v4?:
            return address?.ipAddress ?? "?"
        case .v6(let a)?:
            let b = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
            if b.prefix(10).allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
                return "\(b[12]).\(b[13]).\(b[14]).\(b[15])"
            }
            return b.prefix(8).map { String($0, radix: 16) }.joined(separator: ":") + "::/64"
        default:
            return "local"
        }
    }
}
