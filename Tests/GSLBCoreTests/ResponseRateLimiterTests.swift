import DNSWire
import Foundation
import GSLBCore
import Synchronization
import Testing

/// Response rate limiting (NSD's and Knot's RRL) with an injected clock: the window, slip counting,
/// client networks (/24, /56), classes, exemptions (networks, cookies) and the table's bound.
@Suite struct ResponseRateLimiterTests {
    /// A monotonic clock the test moves by hand (nanoseconds).
    final class Clock: Sendable {
        let ns = Atomic<UInt64>(1_000_000_000_000)
        func advance(seconds: Double) { ns.add(UInt64(seconds * 1e9), ordering: .relaxed) }
        var read: @Sendable () -> UInt64 { { [self] in ns.load(ordering: .relaxed) } }
    }

    static func addr(_ s: String) -> ClientAddress { ClientAddress(text: s)! }
    static let www = try! DomainName("www.example.").key

    static func limiter(_ config: RRLConfiguration, _ clock: Clock) -> ResponseRateLimiter {
        ResponseRateLimiter(config, seed: 42, clock: clock.read)
    }

    /// How many of `n` responses at once are admitted.
    static func admitted(_ l: ResponseRateLimiter, _ n: Int, client: String = "192.0.2.1", class c: RRLClass = .positive,
                         name: [UInt8] = www) -> Int {
        (0..<n).filter { _ in l.admit(client: addr(client), class: c, name: name) }.count
    }

    @Test func aQuietNetworkGetsOneWindowAtOnceThenTheRatePerSecond() {
        let clock = Clock()
        let l = Self.limiter(RRLConfiguration(ratelimit: 10), clock)
        #expect(Self.admitted(l, 25) == 10)
        // 10 × the limit for 10 s, in steps of 10 ms: exactly the rate is admitted, limited ones cost nothing.
        var total = 0
        for _ in 0..<1000 {
            clock.advance(seconds: 0.01)
            total += Self.admitted(l, 1)
        }
        #expect(total == 100)
    }

    @Test func theWindowIsHowMuchAQuietBucketHolds() {
        let clock = Clock()
        let l = Self.limiter(RRLConfiguration(ratelimit: 10, window: 5), clock)
        #expect(Self.admitted(l, 100) == 50)
        clock.advance(seconds: 1)
        #expect(Self.admitted(l, 100) == 10)
        // Quiet for longer than the window: the bucket is full again, never fuller.
        clock.advance(seconds: 60)
        #expect(Self.admitted(l, 100) == 50)
    }

    @Test func ipv4ClientsShareABucketPer24AndIPv6Per56() {
        let clock = Clock()
        let l = Self.limiter(RRLConfiguration(ratelimit: 5), clock)
        #expect(Self.admitted(l, 3, client: "192.0.2.1") == 3)
        #expect(Self.admitted(l, 3, client: "192.0.2.200") == 2)     // same /24
        #expect(Self.admitted(l, 5, client: "192.0.3.1") == 5)       // another /24
        #expect(Self.admitted(l, 3, client: "2001:db8:0:ff::1") == 3)
        #expect(Self.admitted(l, 3, client: "2001:db8:0:1::99") == 2)   // same /56 (2001:db8:0:0000::/56)
        #expect(Self.admitted(l, 5, client: "2001:db8:0:100::1") == 5)  // the next /56
        // Configurable: /32 and /64.
        let exact = Self.limiter(RRLConfiguration(ratelimit: 5, ipv4Prefix: 32, ipv6Prefix: 64), clock)
        #expect(Self.admitted(exact, 5, client: "192.0.2.1") == 5)
        #expect(Self.admitted(exact, 5, client: "192.0.2.2") == 5)
        #expect(Self.admitted(exact, 5, client: "2001:db8:0:ff::1") == 5)
        #expect(Self.admitted(exact, 5, client: "2001:db8:0:fe::1") == 5)
        #expect(Self.admitted(exact, 5, client: "2001:db8:0:fe::2") == 0)
    }

    @Test func eachClassAndNameHasItsOwnBucket() throws {
        let clock = Clock()
        let l = Self.limiter(RRLConfiguration(ratelimit: 4), clock)
        let mail = try DomainName("mail.example.").key
        #expect(Self.admitted(l, 10, class: .positive) == 4)
        #expect(Self.admitted(l, 10, class: .positive, name: mail) == 4)
        #expect(Self.admitted(l, 10, class: .nxdomain) == 4)
        #expect(Self.admitted(l, 10, class: .error, name: []) == 4)
        #expect(Self.admitted(l, 10, class: .referral) == 4)
    }

    @Test func whitelistedClassesHaveTheirOwnLimit() {
        let clock = Clock()
        let l = Self.limiter(RRLConfiguration(ratelimit: 4, whitelistRatelimit: 40, whitelist: [.nxdomain]), clock)
        #expect(Self.admitted(l, 100, class: .nxdomain) == 40)
        #expect(Self.admitted(l, 100, class: .positive) == 4)
        let unlimited = Self.limiter(RRLConfiguration(ratelimit: 4, whitelistRatelimit: 0, whitelist: RRLClass.parse("all")!), clock)
        #expect(Self.admitted(unlimited, 1000, class: .error) == 1000)
    }

    @Test func exemptNetworksAreRecognised() {
        let l = Self.limiter(RRLConfiguration(ratelimit: 1, exempt: [CIDR("198.51.100.0/24")!, CIDR("2001:db8:1::/48")!]), Clock())
        #expect(l.isExempt(Self.addr("198.51.100.7")))
        #expect(!l.isExempt(Self.addr("198.51.101.7")))
        #expect(l.isExempt(Self.addr("2001:db8:1:ff::1")))
        #expect(!l.isExempt(Self.addr("2001:db8:2::1")))
    }

    @Test func theTableNeverGrowsAKeyTakesOverABusyBucket() {
        let clock = Clock()
        let l = Self.limiter(RRLConfiguration(ratelimit: 3, tableSize: 1), clock)
        #expect(l.tableSize == 1)
        #expect(Self.admitted(l, 10, client: "192.0.2.1") == 3)
        // A second network lands in the only bucket and takes it over (as NSD and Knot do) ...
        #expect(Self.admitted(l, 10, client: "203.0.113.1") == 3)
        // ... so the first one starts afresh: collisions forget, they never allocate.
        #expect(Self.admitted(l, 10, client: "192.0.2.1") == 3)
        // 10,000 networks in a table of 1,000: still 1,000 buckets, all busy ones counted.
        let big = Self.limiter(RRLConfiguration(ratelimit: 3, tableSize: 1000), clock)
        for i in 0..<10_000 {
            _ = big.admit(client: ClientAddress(family: 4, hi: 0, lo: UInt64(0x0A00_0000 + i << 8)), class: .positive, name: Self.www)
        }
        #expect(big.tableSize == 1000)
        #expect(big.activeBuckets > 900 && big.activeBuckets <= 1000)
        clock.advance(seconds: 2)
        #expect(big.activeBuckets == 0)
    }

    @Test func theFlagsRangesAreChecked() {
        #expect(RRLConfiguration().problems.isEmpty)
        #expect(RRLConfiguration.off.problems.isEmpty && !RRLConfiguration.off.isOn)
        #expect(RRLConfiguration(ratelimit: -1).problems == ["--rrl-ratelimit: 0 to 1000000"])
        #expect(RRLConfiguration(window: 0).problems.count == 1)
        #expect(RRLConfiguration(ipv6Prefix: 129).problems.count == 1)
        #expect(RRLConfiguration(tableSize: 0).problems.count == 1)
        #expect(RRLClass.parse("NXDOMAIN") == [.nxdomain])
        #expect(RRLClass.parse("nope") == nil)
    }

    // MARK: the answer engine

    static func engine(_ config: RRLConfiguration, _ clock: Clock, cookies: ServerCookies? = nil) -> AnswerEngine {
        let e = AnswerEngine(cookies: cookies, rateLimiter: limiter(config, clock))
        e.clock = { 1_800_000_000 }
        return e
    }

    static func ask(_ e: AnswerEngine, _ q: [UInt8], client: String = "192.0.2.1",
                    transport: AnswerEngine.Transport = .udp) throws -> [UInt8] {
        let snap = try GoldenAnswerTests.snapshot()
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { out.deallocate() }
        let n = q.withUnsafeBytes { e.respond(to: $0, transport: transport, snapshot: snap, client: addr(client), into: out) }
        return Array(out[0..<n])
    }

    static func query(_ name: String = "www.conf.example.", _ type: RecordType = .a,
                      options: [(code: UInt16, data: [UInt8])] = []) throws -> [UInt8] {
        QueryBuilder.make(name: try DomainName(name), type: type, edns: options.isEmpty ? nil : (1232, false), options: options)
    }

    @Test func everySlipthLimitedResponseIsTruncatedTheOthersDropped() throws {
        let clock = Clock()
        let e = Self.engine(RRLConfiguration(ratelimit: 2, slip: 3), clock)
        let q = try Self.query()
        let replies = try (0..<11).map { _ in try Self.ask(e, q) }
        #expect(replies[0].count > 40 && replies[1].count > 40)          // the limit: full answers
        let limited = Array(replies[2...])
        // 9 over the limit: the 3rd, 6th and 9th slip, truncated to header + question, TC set.
        let slipped = limited.enumerated().filter { !$0.element.isEmpty }.map(\.offset)
        #expect(slipped == [2, 5, 8])
        for r in limited where !r.isEmpty {
            #expect(r.count == 12 + 18 + 4)
            #expect(r[2] & 0x02 != 0)                                      // TC
            #expect(r[4...11] == [0, 1, 0, 0, 0, 0, 0, 0][...])            // QD 1, AN NS AR 0
            #expect(r[0...1] == q[0...1])
        }
        // Over TCP nothing is limited.
        #expect(try Self.ask(e, q, transport: .tcp).count > 40)
        // Another /24 is not affected.
        #expect(try Self.ask(e, q, client: "192.0.3.1").count > 40)
        // The tally: 6 dropped, 3 slipped, as positive answers; slipped ones are responses.
        var rrl = [UInt64](repeating: 0, count: QueryTally.rrlCellCount)
        var responses: UInt64 = 0
        e.tally.drain(query: { _, n in responses += n }, dropped: { _, _ in }, answer: { _, _, _ in }, rrl: { rrl[$0] += $1 })
        #expect(responses == 2 + 3 + 2)
        let n = RRLClass.allCases.count
        #expect(rrl[RRLClass.positive.rawValue] == 6 && rrl[n + RRLClass.positive.rawValue] == 3)
    }

    @Test(arguments: [(0, 0), (1, 5)])
    func slipZeroDropsAllAndOneTruncatesAll(slip: Int, sent: Int) throws {
        let e = Self.engine(RRLConfiguration(ratelimit: 1, slip: slip), Clock())
        let q = try Self.query()
        _ = try Self.ask(e, q)
        #expect(try (0..<5).filter { _ in try !Self.ask(e, q).isEmpty }.count == sent)
    }

    @Test func nxdomainsOfAZoneShareOneBucketWhateverTheName() throws {
        let e = Self.engine(RRLConfiguration(ratelimit: 3, slip: 0), Clock())
        let answered = try (0..<10).filter { i in try !Self.ask(e, Self.query("random\(i).conf.example.")).isEmpty }.count
        #expect(answered == 3)
        // Names that exist are keyed by name: each has its own.
        #expect(try !Self.ask(e, Self.query("mail.conf.example.")).isEmpty)
    }

    @Test func aValidServerCookieIsNotLimitedAndAnExemptNetworkNeither() throws {
        let secrets = CookieSecrets(current: [UInt8](repeating: 7, count: 16))!
        let cookies = ServerCookies(secrets: secrets)
        let e = Self.engine(RRLConfiguration(ratelimit: 2, slip: 0, exempt: [CIDR("198.51.100.0/24")!]), Clock(), cookies: cookies)
        let client = [UInt8](repeating: 0xab, count: 8)
        let server = cookies.make(clientCookie: client, client: Self.addr("192.0.2.1"), now: 1_800_000_000)
        let withCookie = try Self.query(options: [(10, client + server)])
        let forged = try Self.query(options: [(10, client + [UInt8](repeating: 1, count: 16))])
        #expect(try (0..<10).filter { _ in try !Self.ask(e, withCookie).isEmpty }.count == 10)
        // Without a valid cookie, the same network is limited (the first 2 above used its rate) ...
        #expect(try (0..<10).filter { _ in try !Self.ask(e, forged).isEmpty }.count == 0)
        // ... and a cookie made for another address does not help.
        #expect(try (0..<10).filter { _ in try !Self.ask(e, withCookie, client: "192.0.2.2").isEmpty }.count == 0)
        #expect(try (0..<10).filter { _ in try !Self.ask(e, forged, client: "198.51.100.9").isEmpty }.count == 10)
        var rrl = [UInt64](repeating: 0, count: QueryTally.rrlCellCount)
        e.tally.drain(query: { _, _ in }, dropped: { _, _ in }, answer: { _, _, _ in }, rrl: { rrl[$0] += $1 })
        let n = RRLClass.allCases.count
        #expect(rrl[2 * n] == 8)          // cookie
        #expect(rrl[2 * n + 1] == 8)      // network
    }
}
