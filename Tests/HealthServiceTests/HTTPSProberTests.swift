import GSLBCore
import HealthService
import NIOCore
import NIOSSL
import Testing

@Suite struct HTTPSProberTests {
    func serveTLS(_ reply: HTTPReply = .ok()) async throws -> (RunningServer, cert: String) {
        let (cert, key) = try await TestServers.selfSignedCertificate()
        let context = try TestServers.tlsServerContext(cert: cert, key: key)
        let server = try await TestServers.tcp("127.0.0.25", tls: context) { HTTPTestHandler(reply: reply, log: RequestLog()) }
        return (server, cert)
    }

    func spec(_ port: Int, options: [String: String]) -> ProbeSpec {
        ProbeSpec(address: "127.0.0.25", port: port,
                  monitor: Monitor(name: "tls", type: .https, timeoutMs: 1000, options: options))
    }

    @Test func selfSignedCertificateIsUpWithVerificationOff() async throws {
        let (server, _) = try await serveTLS()
        defer { Task { try? await server.close() } }
        let r = await TestServers.httpProber.probe(spec(server.port, options: ["verify_tls": "false", "expect_body": "ok"]))
        #expect(r.ok, "\(r)")
        #expect(r.detail == "HTTP 200")
    }

    @Test func selfSignedCertificateIsDownWithVerificationOn() async throws {
        let (server, _) = try await serveTLS()
        defer { Task { try? await server.close() } }
        let r = await TestServers.httpProber.probe(spec(server.port, options: ["verify_tls": "true"]))
        #expect(!r.ok)
        #expect(r.detail == "TLS: certificate verify failed", "\(r)")
    }

    @Test func trustedCertificateIsUpWithVerificationWhenSNINamesIt() async throws {
        let (server, cert) = try await serveTLS()
        defer { Task { try? await server.close() } }
        let prober = HTTPProber(group: TestServers.group, trustRoots: .file(cert))
        let r = await prober.probe(spec(server.port, options: ["sni": "localhost"]))
        #expect(r.ok, "\(r)")
        // The same certificate for another name fails the host name check.
        let wrong = await prober.probe(spec(server.port, options: ["host": "www.example.com"]))
        #expect(!wrong.ok)
        #expect(wrong.detail.hasPrefix("TLS: "), "\(wrong)")
    }

    @Test func httpsToAPlainHTTPBackendIsDownWithATLSError() async throws {
        // A plain server that speaks first, as one that answers a TLS hello with an HTTP 400 does.
        let server = try await TestServers.tcp("127.0.0.25") { CloseAfterBannerHandler(banner: "HTTP/1.1 400 Bad Request\r\n\r\n") }
        defer { Task { try? await server.close() } }
        let r = await TestServers.httpProber.probe(spec(server.port, options: ["verify_tls": "false"]))
        #expect(!r.ok)
        #expect(r.detail.hasPrefix("TLS: ") || r.detail.hasPrefix("timeout"), "\(r)")
    }
}
