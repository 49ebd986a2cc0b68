import AsyncHTTPClient
import Foundation
import GSLBCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP response of the admin API.
struct APIResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: Data
    var ok: Bool { (200..<300).contains(status) }
}

/// Why a request got no HTTP response at all (exit code 2 in the CLI).
struct APIClientError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The HTTP client of `cairn`'s API commands: one synchronous request at a time through AsyncHTTPClient (its own
/// connection each: the client is shut down after it), JSON in and out, TLS through NIOSSL for `https://` URLs.
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

    /// The base URL as the user would write it (for messages; `[::1]` for IPv6).
    var baseURL: String { "\(scheme)://\(hostPort(host, port))\(basePath)" }

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
        var url = baseURL + path
        let q = query.compactMap { k, v in v.map { k + "=" + Self.encoded($0, unreserved: "-._~:@!$'()*,/") } }
        if !q.isEmpty { url += "?" + q.joined(separator: "&") }
        var headers = HTTPHeaders([("User-Agent", "cairn-cli"), ("Accept", "application/json")])
        if let token, !token.isEmpty { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let ifMatch { headers.add(name: "If-Match", value: ifMatch) }
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }

        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if tls.insecure { tlsConfiguration.certificateVerification = .none }
        if scheme == "https", let ca = tls.caFile {
            guard FileManager.default.isReadableFile(atPath: ca) else { throw APIClientError(message: "--ca-file: cannot read \(ca)") }
            tlsConfiguration.trustRoots = .file(ca)
        }
        // No redirects and no retried connects: a refused connection is reported at once, as the server's answer is.
        var configuration = HTTPClient.Configuration(tlsConfiguration: tlsConfiguration, redirectConfiguration: .disallow,
                                                     timeout: .init(connect: timeout))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { try? client.syncShutdown() }
        let response: HTTPClient.Response
        do {
            let request = try HTTPClient.Request(url: url, method: method, headers: headers, body: body.map { .data($0) })
            response = try client.execute(request: request, deadline: .now() + timeout).wait()
        } catch {
            // Refused, unreachable or too slow to accept: no connection at all.
            let connecting = error is NIOConnectionError || error is IOError || error as? HTTPClientError == .connectTimeout
            throw APIClientError(message: (connecting ? "cannot connect to \(baseURL): " : "\(baseURL): ") + describe(error))
        }
        return APIResponse(status: Int(response.status.code), headers: response.headers,
                           body: response.body.map { Data($0.readableBytesView) } ?? Data())
    }

    func describe(_ error: any Error) -> String {
        if let e = error as? NIOConnectionError, let first = e.connectionErrors.first { return describe(first.error) }
        if let e = error as? IOError { return String(cString: strerror(e.errnoCode)) }
        switch error as? HTTPClientError {
        case .connectTimeout?: return "connection timed out after \(Double(timeout.nanoseconds) / 1e9) s"
        case .deadlineExceeded?: return "no response within \(Double(timeout.nanoseconds) / 1e9) s"
        case .remoteConnectionClosed?: return "the connection closed before a complete response"
        default: break
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
