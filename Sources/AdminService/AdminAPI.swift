import Foundation
import GSLBCore
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import DrillService
import HealthService
import SnapshotService

public struct AdminAPIConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Failed authentications from one address within `failureWindow` seconds before 429.
    public var failureLimit: Int
    public var failureWindow: Double
    /// Whether `command` monitors may be created or attached (with `admin` scope): `--allow-command-monitors`.
    public var allowCommandMonitors: Bool
    /// How far writes may grow the configuration (`--max-pools` ...).
    public var limits: ConfigLimits
    /// Connection caps and deadlines (docs/security.md, "Admin API connections").
    public var connections: AdminConnectionLimits
    /// `--api-require-if-match`: writes to existing objects without `If-Match` get 428.
    public var requireIfMatch = false
    public init(host: String = "127.0.0.1", port: Int = 9053, tlsCertificate: String? = nil, tlsKey: String? = nil,
                failureLimit: Int = 10, failureWindow: Double = 60, allowCommandMonitors: Bool = false,
                limits: ConfigLimits = .defaults, connections: AdminConnectionLimits = .init()) {
        self.host = host; self.port = port; self.tlsCertificate = tlsCertificate; self.tlsKey = tlsKey
        self.failureLimit = failureLimit; self.failureWindow = failureWindow
        self.allowCommandMonitors = allowCommandMonitors
        self.limits = limits
        self.connections = connections
    }
}

/// What the API reports about readiness, provided by the composition root.
public struct Readiness: Sendable {
    public var waiting: @Sendable () -> [String]
    /// What works less than it should while the node still answers (`store`: the database is away).
    public var degraded: @Sendable () -> [String]
    public init(waiting: @escaping @Sendable () -> [String], degraded: @escaping @Sendable () -> [String] = { [] }) {
        self.waiting = waiting
        self.degraded = degraded
    }
}

/// The admin API (`/v1`, `/metrics`, `/healthz`, `/readyz`, `/openapi.json`); routes and
/// shapes in docs/api.md. Writes go to the repository in one transaction with their audit row,
/// then the snapshot is refreshed before the response is sent, so a 2xx write is already in
/// the DNS answers.
public final class AdminAPI: Sendable {
    public let configuration: AdminAPIConfiguration
    let repo: any AdminRepository
    let publisher: SnapshotPublisher
    let health: HealthMonitor?
    let drills: DrillRunner?
    let metrics: @Sendable () -> String
    let readiness: Readiness
    let auth: AdminAuth
    let logger: Logger
    let clock: @Sendable () -> Double

    public init(configuration: AdminAPIConfiguration, repository: any AdminRepository, publisher: SnapshotPublisher,
                health: HealthMonitor?, drills: DrillRunner? = nil, metrics: @escaping @Sendable () -> String = { "" }, readiness: Readiness,
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                logger: Logger = Logger(label: "cairn.admin")) {
        self.configuration = configuration
        self.repo = repository
        self.publisher = publisher
        self.health = health
        self.drills = drills
        self.metrics = metrics
        self.readiness = readiness
        self.clock = clock
        self.logger = logger
        self.auth = AdminAuth(repo: repository, clock: clock, failureLimit: configuration.failureLimit,
                              failureWindow: configuration.failureWindow, logger: logger)
    }

    /// Serves until the task is cancelled; `onBound` receives the bound address and port.
    public func run(onBound: @escaping @Sendable (String, Int) -> Void) async throws {
        var tls: TLSConfiguration?
        if let cert = configuration.tlsCertificate, let key = configuration.tlsKey {
            let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
            tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain,
                                                           privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        }
        try await serveGuarded(buildRouter(), host: configuration.host, port: configuration.port, limits: configuration.connections,
                               tls: tls, label: "cairn.admin.http", logger: logger, onBound: onBound)
    }

    // MARK: - Routing

    struct Call: Sendable {
        let request: Request
        let context: AdminContext
        let token: APIToken?
        let requestID: String
        var principal: String { token.map { "token:\($0.name)" } ?? "-" }
        /// Whether this caller may see what only `admin` sees (command monitors' argv and output).
        var isAdmin: Bool { token?.scope == .admin }
        func param(_ name: String) -> String {
            let raw = context.parameters.get(name) ?? ""
            return raw.removingPercentEncoding ?? raw
        }
        func query(_ name: String) -> String? { request.uri.queryParameters.get(name) }
    }

    struct Reply: Sendable {
        var status: HTTPResponse.Status = .ok
        /// JSON text (`jsonText`).
        var json: String?
        var text: String?
        var contentType = "application/json"
        var etag: Int64?
        /// More response headers (the status page's security headers).
        var headers: [(String, String)] = []
        static func ok(_ j: some Encodable, etag: Int64? = nil) -> Reply { Reply(status: .ok, json: jsonText(j), etag: etag) }
        static func created(_ j: some Encodable, etag: Int64? = nil) -> Reply { Reply(status: .created, json: jsonText(j), etag: etag) }
        static let noContent = Reply(status: .noContent)
    }

    static let requestIDField = HTTPField.Name("X-Request-ID")!

    func buildRouter() -> Router<AdminContext> {
        let router = Router(context: AdminContext.self)
        router.add(middleware: ErrorMiddleware())
        func on(_ method: HTTPRequest.Method, _ path: RouterPath, _ scope: TokenScope?,
                _ handler: @escaping @Sendable (AdminAPI, Call) async throws -> Reply) {
            router.on(path, method: method) { [self] request, context in
                try await self.dispatch(request, context, scope: scope, path: "\(method.rawValue) \(path)", handler)
            }
        }
        on(.get, "/healthz", nil) { _, _ in .ok(["status": "ok"]) }
        on(.get, "/readyz", nil) { api, _ in api.ready() }
        on(.get, "/metrics", .read) { api, _ in
            Reply(status: .ok, text: api.metrics(), contentType: MetricsEndpoint.contentType)
        }
        // The contract is public (a client generator needs it before it has a token), as /healthz and /readyz.
        on(.get, "/openapi.json", nil) { _, _ in Reply(status: .ok, text: OpenAPIDocument.json) }
        // The status page (docs/operations.md): static, no data in it; its script reads the API with a read token.
        for (path, text, type) in [("/", StatusPage.html, "html"), ("/status.js", StatusPage.script, "javascript"),
                                   ("/status.css", StatusPage.css, "css")] {
            on(.get, RouterPath(path), nil) { _, _ in
                Reply(status: .ok, text: text, contentType: "text/\(type); charset=utf-8", headers: StatusPage.headers)
            }
        }

        // One controller per resource, each over the roles it needs.
        let routes = AdminRoutes { method, path, scope, handler in on(method, path, scope) { _, c in try await handler(c) } }
        let controllers: [any AdminController] = [
            ConfigController(repo: repo, publisher: publisher, configuration: configuration),
            OverridesController(repo: repo, publisher: publisher, clock: clock),
            HealthController(publisher: publisher, health: health),
            ExplainController(publisher: publisher),
            AuditController(repo: repo, clock: clock),
            ZonesController(publisher: publisher, logger: logger),
            DrillsController(repo: repo, drills: drills, clock: clock),
            TokensController(repo: repo, clock: clock),
            NodesController(repo: repo, publisher: publisher, clock: clock),
            TSIGKeysController(repo: repo),
            DNSSECController(repo: repo, publisher: publisher),
        ]
        for controller in controllers { controller.addRoutes(to: routes) }
        return router
    }

    func dispatch(_ request: Request, _ context: AdminContext, scope: TokenScope?, path: String,
                  _ handler: @Sendable (AdminAPI, Call) async throws -> Reply) async throws -> Response {
        let given = request.headers[Self.requestIDField].flatMap { $0.isEmpty || $0.count > 128 ? nil : $0 }
        let requestID = given ?? UUID().uuidString.lowercased()
        var reply: Reply
        do {
            let token = try scope.map {
                try auth.authenticate(header: request.headers[.authorization], scope: $0, source: context.remote,
                                      requestID: requestID, what: path)
            }
            reply = try await handler(self, Call(request: request, context: context, token: token, requestID: requestID))
        } catch {
            let e = APIError.from(error)
            if e.status.code >= 500 { logger.error("\(path): \(e)", metadata: ["event": "api.request_failed"]) }
            reply = Reply(status: e.status, json: jsonText(e), contentType: APIError.contentType)
        }
        var headers: HTTPFields = [Self.requestIDField: requestID]
        if reply.status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"cairn\"" }
        if let etag = reply.etag { headers[.eTag] = "\"\(etag)\"" }
        guard reply.status != .noContent else { return Response(status: .noContent, headers: headers) }
        let text = reply.text ?? (reply.json ?? "null") + "\n"
        headers[.contentType] = reply.contentType
        for (name, value) in reply.headers { if let n = HTTPField.Name(name) { headers[n] = value } }
        return Response(status: reply.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: - Readiness

    func ready() -> Reply {
        let waiting = readiness.waiting()
        let degraded = readiness.degraded()
        // Degraded is still ready (200): the node answers DNS from its last snapshot; a load balancer
        // that took it out of rotation for a database outage would take every node out at once.
        let status = !waiting.isEmpty ? "not-ready" : degraded.isEmpty ? "ready" : "degraded"
        let body = ReadinessReply(status: status, waiting: waiting, degraded: degraded, generation: publisher.box.generation)
        return Reply(status: waiting.isEmpty ? .ok : .serviceUnavailable, json: jsonText(body))
    }

    struct ReadinessReply: Encodable {
        var status: String
        var waiting: [String]
        var degraded: [String]
        var generation: UInt64
    }
}

/// Serves `router` on `host`:`port` until the task is cancelled (or the graceful shutdown), every connection through
/// the caps and deadlines (`AdminChildChannel`); with TLS, inside the TLS channel so that its deadlines see the
/// handshake end. Hummingbird's own log lines (`label`) only from warning up.
func serveGuarded<Context: InitializableFromSource<ApplicationRequestContextSource>>(
    _ router: Router<Context>, host: String, port: Int, limits: AdminConnectionLimits, tls: TLSConfiguration?, label: String,
    logger: Logger, onBound: @escaping @Sendable (String, Int) -> Void
) async throws {
    let table = AdminConnectionTable(maxConnections: limits.maxConnections, maxPerAddress: limits.maxConnectionsPerAddress)
    let guarded = HTTPServerBuilder { responder in
        AdminChildChannel(base: HTTP1Channel(responder: responder), limits: limits, tls: tls != nil, table: table, logger: logger)
    }
    var quiet = Logger(label: label)
    quiet.logLevel = .warning
    let app = Application(
        router: router, server: try tls.map { try HTTPServerBuilder.tls(guarded, tlsConfiguration: $0) } ?? guarded,
        configuration: .init(address: .hostname(host, port: port), serverName: nil),
        onServerRunning: { channel in
            let a = channel.localAddress
            onBound(a?.ipAddress ?? "?", a?.port ?? 0)
        },
        logger: quiet)
    try await app.run()
}

/// Turns errors thrown outside the route handlers (unknown path, body too large) into the
/// JSON error shape.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AdminContext
    func handle(_ request: Request, context: AdminContext,
                next: (Request, AdminContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let e = APIError.from(error)
            return Response(status: e.status, headers: [.contentType: APIError.contentType],
                            body: .init(byteBuffer: ByteBuffer(string: jsonText(e) + "\n")))
        }
    }
}
