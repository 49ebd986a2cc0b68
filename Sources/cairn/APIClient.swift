import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP response of the admin API.
struct APIResponse: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: Data

    /// The first header of that name (case-insensitive).
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var ok: Bool { (200..<300).contains(status) }
}

/// Why a request got no HTTP response at all (exit code 2 in the CLI).
struct APIClientError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A small synchronous HTTP/1.1 client for `cairn`'s API commands: one request per
/// connection, JSON in and out, TLS through NIOSSL for `https://` URLs.
struct APIClient: Sendable {
    struct TLSOptions: Sendable {
        /// Skip certificate and host name verification.
        var insecure = false
        /// PEM file of the CAs to trust instead of the system's.
        var caFile: String?
    }

    let scheme: String
    let host: String
    let port: Int
    /// Path prefix of the base URL, without the trailing slash ("" for none).
    let basePath: String
    let token: String?
    let timeout: TimeAmount
    let tls: TLSOptions

    /// `url` is `http://HOST:PORT`, `https://HOST[:PORT][/PREFIX]`, or a bare `HOST:PORT` (http).
    init(url: String, token: String?, timeout: TimeAmount = .seconds(10), tls: TLSOptions = TLSOptions()) throws {
        let text = url.contains("://") ? url : "http://" + url
        guard let c = URLComponents(string: text), let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https",
              var host = c.host, !host.isEmpty
        else { throw APIClientError(message: "--api: \"\(url)\" is not an http:// or https:// URL") }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.scheme = scheme
        self.host = host
        self.port = c.port ?? (scheme == "https" ? 443 : 80)
        var path = c.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        self.basePath = path
        self.token = token
        self.timeout = timeout
        self.tls = tls
    }

    /// The host as a URL or a Host header writes it (`[::1]` for IPv6).
    var urlHost: String { host.contains(":") ? "[\(host)]" : host }

    /// The base URL as the user would write it (for messages).
    var baseURL: String { "\(scheme)://\(urlHost):\(port)\(basePath)" }

    /// Percent-encodes `s`, leaving ASCII letters, digits and `unreserved` as they are.
    static func encoded(_ s: String, unreserved: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: unreserved)
        allowed = allowed.intersection(CharacterSet(charactersIn: Unicode.Scalar(0x21)...Unicode.Scalar(0x7e)))
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// Percent-encodes one path segment (a name, an address, an id).
    static func segment(_ s: String) -> String { encoded(s, unreserved: "-._~:@!$&'()*+,;=") }

    /// `path` starts with `/` and is already encoded; query values are encoded here.
    func request(_ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], body: Data? = nil,
                 ifMatch: String? = nil) throws -> APIResponse {
        var uri = basePath + path
        let q = query.compactMap { k, v in v.map { k + "=" + Self.encoded($0, unreserved: "-._~:@!$'()*,/") } }
        if !q.isEmpty { uri += "?" + q.joined(separator: "&") }

        var headers = HTTPHeaders()
        headers.add(name: "Host", value: port == (scheme == "https" ? 443 : 80) ? urlHost : "\(urlHost):\(port)")
        headers.add(name: "User-Agent", value: "cairn-cli")
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "Connection", value: "close")
        if let token, !token.isEmpty { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let ifMatch { headers.add(name: "If-Match", value: ifMatch) }
        if let body {
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.count))
        } else if method == .POST || method == .PUT {
            headers.add(name: "Content-Length", value: "0")
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        return try perform(head: head, body: body.map { ByteBuffer(bytes: $0) })
    }

    private func perform(head: HTTPRequestHead, body: ByteBuffer?) throws -> APIResponse {
        let group = MultiThreadedEventLoopGroup.singleton
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: APIResponse.self)
        var sslContext: NIOSSLContext?
        if scheme == "https" {
            var config = TLSConfiguration.makeClientConfiguration()
            if tls.insecure { config.certificateVerification = .none }
            if let ca = tls.caFile {
                guard FileManager.default.isReadableFile(atPath: ca) else {
                    throw APIClientError(message: "--ca-file: cannot read \(ca)")
                }
                config.trustRoots = .file(ca)
            }
            do { sslContext = try NIOSSLContext(configuration: config) } catch {
                throw APIClientError(message: "TLS setup failed: \(error)")
            }
        }
        // SNI takes host names only; for an IP address NIOSSL checks the certificate against the peer's address.
        let isIP = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        let serverName: String? = isIP ? nil : host
        let timeout = self.timeout
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { [sslContext] channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    if let sslContext {
                        try ops.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    try ops.addHTTPClientHandlers()
                    try ops.addHandler(ResponseCollector(promise: promise, head: head, body: body, timeout: timeout))
                }
            }
        let channel: Channel
        do {
            channel = try bootstrap.connect(host: host, port: port).wait()
        } catch {
            promise.fail(error)
            throw APIClientError(message: "cannot connect to \(baseURL): \(Self.describe(error))")
        }
        do {
            return try promise.futureResult.wait()
        } catch let e as APIClientError {
            channel.close(promise: nil)
            throw APIClientError(message: "\(baseURL): \(e.message)")
        } catch {
            channel.close(promise: nil)
            throw APIClientError(message: "\(baseURL): \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? NIOConnectionError, let first = e.connectionErrors.first {
            return describe(first.error)
        }
        if let e = error as? IOError { return String(cString: strerror(e.errnoCode)) }
        if error is ChannelError, case ChannelError.connectTimeout(let t) = error {
            return "connection timed out after \(Double(t.nanoseconds) / 1e9) s"
        }
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "TLS: the server's certificate is not trusted (--ca-file FILE trusts its CA, --insecure skips verification)"
        }
        if let e = error as? NIOSSLExtraError, e == .failedToValidateHostname {
            return "TLS: the server's certificate is not for this host (\(e))"
        }
        return text
    }
}

/// Writes the request when the channel is active and collects the response.
private final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let promise: EventLoopPromise<APIResponse>
    private let requestHead: HTTPRequestHead
    private let requestBody: ByteBuffer?
    private let timeout: TimeAmount
    private var responseHead: HTTPResponseHead?
    private var responseBody = ByteBuffer()
    private var done = false
    private var timer: Scheduled<Void>?

    init(promise: EventLoopPromise<APIResponse>, head: HTTPRequestHead, body: ByteBuffer?, timeout: TimeAmount) {
        self.promise = promise
        self.requestHead = head
        self.requestBody = body
        self.timeout = timeout
    }

    func channelActive(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, ctx) = bound.value
            handler.finish(ctx, .failure(APIClientError(message: "no response within \(Double(handler.timeout.nanoseconds) / 1e9) s")))
        }
        context.write(wrapOutboundOut(.head(requestHead)), promise: nil)
        if let b = requestBody { context.write(wrapOutboundOut(.body(.byteBuffer(b))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            responseHead = h
        case .body(var b):
            responseBody.writeBuffer(&b)
        case .end:
            guard let h = responseHead else { return }
            let headers = h.headers.map { (name: $0.name, value: $0.value) }
            let data = Data(responseBody.readableBytesView)
            finish(context, .success(APIResponse(status: Int(h.status.code), headers: headers, body: data)))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(context, .failure(error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context, .failure(APIClientError(message: "the connection closed before a complete response")))
        context.fireChannelInactive()
    }

    private func finish(_ context: ChannelHandlerContext, _ result: Result<APIResponse, any Error>) {
        guard !done else { return }
        done = true
        timer?.cancel()
        promise.completeWith(result)
        context.close(promise: nil)
    }
}
