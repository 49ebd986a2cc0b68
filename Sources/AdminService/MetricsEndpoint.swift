import Hummingbird
import HTTPTypes
import Logging
import NIOCore

/// `--metrics HOST:PORT`: `/metrics` without a token, for Prometheus scrapers (as CoreDNS's :9153 and PowerDNS's
/// webserver serve theirs), and nothing else: any other path is 404, any other method 405. Connections go through
/// the same caps and deadlines as the admin API's (`AdminChildChannel`, docs/security.md). The admin API's own
/// token-protected `/metrics` stays.
public final class MetricsEndpoint: Sendable {
    public let host: String
    public let port: Int
    let connections: AdminConnectionLimits
    let metrics: @Sendable () -> String
    let logger: Logger

    /// The `Content-Type` of the Prometheus text format 0.0.4 (here and on the admin API's `/metrics`).
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public init(host: String, port: Int, connections: AdminConnectionLimits = .init(),
                metrics: @escaping @Sendable () -> String, logger: Logger = Logger(label: "cairn.metrics")) {
        self.host = host; self.port = port; self.connections = connections; self.metrics = metrics; self.logger = logger
    }

    /// Serves until the task is cancelled (or the graceful shutdown); `onBound` receives the bound address and port.
    public func run(onBound: @escaping @Sendable (String, Int) -> Void) async throws {
        let metrics = self.metrics
        let router = Router(context: BasicRequestContext.self)
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: Self.contentType], body: .init(byteBuffer: ByteBuffer(string: metrics())))
        }
        router.on("/metrics", method: .head) { _, _ in Response(status: .ok) }
        for method in [HTTPRequest.Method.post, .put, .delete, .patch] {
            router.on("/metrics", method: method) { _, _ in Response(status: .methodNotAllowed, headers: [.allow: "GET, HEAD"]) }
        }
        try await serveGuarded(router, host: host, port: port, limits: connections, tls: nil, label: "cairn.metrics.http",
                               logger: logger, onBound: onBound)
    }
}
