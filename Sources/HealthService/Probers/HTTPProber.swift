import GSLBCore
import NIOCore
import NIOSSL

/// `type: http` and `type: https`: one HTTP/1.1 request written by hand (`Connection: close`), the status checked
/// against `expect_status`, the body (first 64 KiB) against `expect_body`, and the load read from `load_header`
/// or `load_json`. HTTPS verifies the certificate unless `verify_tls: false`, and sends SNI (`sni`, else `host`)
/// unless the name is an IP literal. Plain HTTP to an IP literal runs on the probe loop (`ProbeLoop`); HTTPS
/// and host names on `group`.
public struct HTTPProber: Prober, ProbeStarter {
    let group: any EventLoopGroup
    private let verifying: Result<NIOSSLContext, TLSSetupError>
    private let trusting: Result<NIOSSLContext, TLSSetupError>

    /// - Parameter trustRoots: the roots that `verify_tls: true` checks against (default: the system's).
    public init(group: any EventLoopGroup, trustRoots: NIOSSLTrustRoots = .default) {
        self.group = group
        var verify = TLSConfiguration.makeClientConfiguration()
        verify.certificateVerification = .fullVerification
        verify.trustRoots = trustRoots
        var noVerify = TLSConfiguration.makeClientConfiguration()
        noVerify.certificateVerification = .none
        verifying = HTTPProber.makeContext(verify)
        trusting = HTTPProber.makeContext(noVerify)
    }

    static func makeContext(_ config: TLSConfiguration) -> Result<NIOSSLContext, TLSSetupError> {
        do { return .success(try NIOSSLContext(configuration: config)) } catch {
            return .failure(TLSSetupError(message: ProbeErrorText.describe(error)))
        }
    }

    /// The request and its judge, or a verdict known before connecting (bad options).
    enum Prepared {
        case verdict(ProbeVerdict)
        case request(tls: StreamTLS?, bytes: [UInt8], reader: HTTPResponseReader)
    }

    public func start(_ spec: ProbeSpec, done: @escaping @Sendable (ProbeResult) -> Void) -> Bool {
        guard spec.monitor.type == .http, let loop = ProbeLoop.shared else { return false }
        let start = NIODeadline.now()
        switch prepare(spec) {
        case .verdict(let v):
            done(v.result(since: start))
            return true
        case .request(_, let bytes, let reader):
            return loop.start(address: spec.address, port: spec.port, timeoutMs: spec.monitor.timeoutMs,
                              request: bytes, reader: reader, done: done)
        }
    }

    public func probe(_ spec: ProbeSpec) async -> ProbeResult {
        if let r = await probeThroughStart(spec) { return r }
        let start = NIODeadline.now()
        switch prepare(spec) {
        case .verdict(let v): return v.result(since: start)
        case .request(let tls, let bytes, let reader):
            return await StreamProbe.run(group: group, address: spec.address, port: spec.port, timeoutMs: spec.monitor.timeoutMs,
                                         tls: tls, request: bytes, reader: reader)
        }
    }

    /// The request (built once with the target, `ProbeSpec.request`), TLS and the judge of the response, from
    /// the monitor's typed check.
    func prepare(_ spec: ProbeSpec) -> Prepared {
        guard case .http(let check)? = spec.check else { return .verdict(.down(spec.badOption ?? "not an HTTP monitor")) }
        var tls: StreamTLS?
        if check.tls {
            switch check.verifyTLS ? verifying : trusting {
            case .failure(let e): return .verdict(.down("TLS: \(e.message)"))
            case .success(let context):
                let name = HTTPProber.hostName(check.sni ?? check.host ?? spec.address)
                tls = StreamTLS(context: context, serverHostname: ClientAddress(text: name) != nil ? nil : name)
            }
        }
        return .request(tls: tls, bytes: spec.request, reader: HTTPResponseReader(expect: check))
    }

    /// `www.example.com:8443` → `www.example.com`; `[::1]:443` → `::1`.
    static func hostName(_ host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<close])
        }
        if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") { return String(host[..<colon]) }
        return host
    }
}

/// Why a TLS context could not be made (reported by every HTTPS probe that needs it).
struct TLSSetupError: Error, Sendable {
    var message: String
}
