@testable import AdminService
import NIOCore
import Testing

/// The admin API's connection deadlines and descriptor budget, in-process with made-up instants
/// (the process-level tests are Tests/IntegrationTests/AdminAPILimitsTests.swift).
@Suite struct AdminConnectionDeadlinesTests {
    static let limits = AdminConnectionLimits(headerTimeout: .seconds(10), idleTimeout: .seconds(60),
                                              tlsHandshakeTimeout: .seconds(5))
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    static func at(_ s: Double) -> NIODeadline { t0 + .nanoseconds(Int64(s * 1e9)) }

    @Test func theFirstHeadIsDueTenSecondsAfterTheAcceptWhateverArrives() {
        var d = AdminConnectionDeadlines(limits: Self.limits, accepted: Self.t0, tls: false)
        #expect(d.next == Self.at(10))
        for s in stride(from: 0.5, to: 10, by: 0.5) { d.bytesRead(at: Self.at(s)) }   // a head dripped byte by byte
        #expect(d.expired(at: Self.at(9.99)) == nil)
        #expect(d.expired(at: Self.at(10)) == .head)
    }

    @Test func aKeptAliveConnectionIsIdleUntilItsNextFirstByteThenHasTheHeaderTimeout() {
        var d = AdminConnectionDeadlines(limits: Self.limits, accepted: Self.t0, tls: false)
        d.headRead(at: Self.at(1))
        d.endRead()
        #expect(d.inRequest && d.next == nil && d.expired(at: Self.at(500)) == nil)   // answering: no deadline
        d.responseEnded(at: Self.at(2))
        #expect(!d.inRequest && d.next == Self.at(62))
        #expect(d.expired(at: Self.at(61)) == nil && d.expired(at: Self.at(62)) == .idle)
        d.bytesRead(at: Self.at(30))                                                   // the next head starts
        #expect(d.next == Self.at(40) && d.expired(at: Self.at(40)) == .head)
        d.headRead(at: Self.at(35))
        #expect(d.expired(at: Self.at(40)) == nil)
    }

    @Test func aStalledBodyIsCutAfterTheIdleTimeoutAndEachByteMovesIt() {
        var d = AdminConnectionDeadlines(limits: Self.limits, accepted: Self.t0, tls: false)
        d.headRead(at: Self.at(1))
        #expect(d.next == Self.at(61))
        d.bytesRead(at: Self.at(50))
        #expect(d.expired(at: Self.at(100)) == nil && d.expired(at: Self.at(110)) == .body)
    }

    @Test func theTLSHandshakeIsDueFiveSecondsAfterTheAccept() {
        var d = AdminConnectionDeadlines(limits: Self.limits, accepted: Self.t0, tls: true)
        #expect(d.next == Self.at(5) && d.expired(at: Self.at(5)) == .tlsHandshake)
        d.handshakeCompleted()
        #expect(d.next == Self.at(10) && d.expired(at: Self.at(5)) == nil)
    }

    @Test func theAPIGetsWhatDNSAndProbesLeaveOfTheDescriptorLimit() {
        func api(_ limit: Int) -> Int {
            DescriptorBudget.apiConnections(requested: 1024, descriptorLimit: limit, tcpConnections: 512, probes: 2048)
        }
        #expect(api(20_000) == 1024)
        #expect(api(3841) == 1024)                 // 256 + 513 + 2048 + 1024
        #expect(api(3000) == 3000 - 256 - 513 - 2048)
        #expect(api(1024) == DescriptorBudget.apiFloor)
    }

    @Test func connectionsAreCountedPerIPv4AddressAndPerIPv6Slash64() throws {
        func key(_ ip: String) throws -> String { AdminConnectionTable.key(for: try SocketAddress(ipAddress: ip, port: 1)) }
        #expect(try key("192.0.2.7") == "192.0.2.7")
        #expect(try key("::ffff:192.0.2.7") == "192.0.2.7")
        #expect(try key("2001:db8:1:2::5") == key("2001:db8:1:2:ffff::9"))
        #expect(try key("2001:db8:1:2::5") != key("2001:db8:1:3::5"))
    }
}
