import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A small HTTP/1.1 client for the admin API tests, over a plain POSIX socket (URLSession is not
// there without FoundationNetworking), and helpers to start `cairn serve --api 127.0.0.1:0`
// on an applied configuration and to make tokens on its store.

/// One HTTP response. Header names are lower-cased; a repeated header keeps its last value.
struct HTTPResult: CustomStringConvertible {
    let status: Int
    let headers: [String: String]
    let body: String

    /// The body parsed as JSON (objects are `[String: Any]`), or nil.
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) }
    /// The body as a JSON object, or an empty one.
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    /// `error` of an error body.
    var errorCode: String? { object["error"] as? String }

    var description: String { "HTTP \(status) \(headers) \(body)" }
}

enum HTTPClientError: Error, CustomStringConvertible {
    case badURL(String)
    case socket(String)
    case malformed(String)
    var description: String {
        switch self {
        case .badURL(let s): return "bad URL \(s)"
        case .socket(let s): return "socket: \(s)"
        case .malformed(let s): return "malformed response: \(s)"
        }
    }
}

/// Sends one request (`Connection: close`) and reads the response to EOF. `url` is
/// `http://HOST:PORT/path?query` with a numeric host (or `localhost`). A body gets
/// `Content-Type: application/json` unless `headers` names one. Times out after `timeout` s.
func http(_ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil,
          timeout: Int = 30) throws -> HTTPResult {
    guard let u = URLComponents(string: url), u.scheme == "http", var host = u.host, let port = u.port else {
        throw HTTPClientError.badURL(url)
    }
    if host == "localhost" { host = "127.0.0.1" }
    if host.hasPrefix("[") { host = String(host.dropFirst().dropLast()) }
    let target = (u.percentEncodedPath.isEmpty ? "/" : u.percentEncodedPath)
        + (u.percentEncodedQuery.map { "?" + $0 } ?? "")

    var request = "\(method) \(target) HTTP/1.1\r\nHost: \(host.contains(":") ? "[\(host)]" : host):\(port)\r\nConnection: close\r\n"
    let lower = Set(headers.keys.map { $0.lowercased() })
    for (k, v) in headers { request += "\(k): \(v)\r\n" }
    let payload = Array((body ?? "").utf8)
    if body != nil {
        if !lower.contains("content-type") { request += "Content-Type: application/json\r\n" }
        if !lower.contains("content-length") { request += "Content-Length: \(payload.count)\r\n" }
    } else if ["POST", "PUT", "PATCH"].contains(method.uppercased()) && !lower.contains("content-length") {
        request += "Content-Length: 0\r\n"
    }
    request += "\r\n"

    let fd = try connectSocket(host: host, port: port, timeout: timeout)
    defer { close(fd) }
    try sendAll(fd, Array(request.utf8) + payload)
    var raw: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { break }
        if n < 0 {
            if errno == EINTR { continue }
            // A reset after the whole response (the server closing with unread request bytes) is fine.
            if errno == ECONNRESET && !raw.isEmpty { break }
            throw HTTPClientError.socket("recv: \(String(cString: strerror(errno))) after \(raw.count) bytes")
        }
        raw += buf[0..<n]
    }
    return try parseResponse(raw)
}

private func connectSocket(host: String, port: Int, timeout: Int) throws -> Int32 {
    var v4 = sockaddr_in()
    var v6 = sockaddr_in6()
    let family: Int32
    if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
        family = AF_INET
        v4.sin_family = sa_family_t(AF_INET)
        v4.sin_port = in_port_t(UInt16(port).bigEndian)
    } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
        family = AF_INET6
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = in_port_t(UInt16(port).bigEndian)
    } else {
        throw HTTPClientError.badURL("host \(host) is not a numeric address")
    }
    #if canImport(Glibc)
    let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(family, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw HTTPClientError.socket("socket: \(String(cString: strerror(errno)))") }
    var tv = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    let rc: Int32 = family == AF_INET
        ? withUnsafePointer(to: &v4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        : withUnsafePointer(to: &v6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
    guard rc == 0 else {
        let e = String(cString: strerror(errno))
        close(fd)
        throw HTTPClientError.socket("connect \(host):\(port): \(e)")
    }
    return fd
}

private func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
    var off = 0
    while off < bytes.count {
        #if canImport(Glibc)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, flags) }
        if n < 0 {
            if errno == EINTR { continue }
            // The server may answer (413, 401) and close before reading a large body.
            if errno == EPIPE || errno == ECONNRESET { return }
            throw HTTPClientError.socket("send: \(String(cString: strerror(errno)))")
        }
        off += n
    }
}

private func parseResponse(_ raw: [UInt8]) throws -> HTTPResult {
    let sep: [UInt8] = [13, 10, 13, 10]
    guard let end = (0..<max(0, raw.count - 3)).first(where: { raw[$0..<$0 + 4].elementsEqual(sep) }) else {
        throw HTTPClientError.malformed("no end of headers in \(raw.count) bytes: \(String(decoding: raw.prefix(200), as: UTF8.self))")
    }
    let head = String(decoding: raw[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
    let statusParts = head[0].split(separator: " ", maxSplits: 2)
    guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
        throw HTTPClientError.malformed("status line \(head[0])")
    }
    var headers: [String: String] = [:]
    for line in head.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    var body = Array(raw[(end + 4)...])
    if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
        body = try dechunk(body)
    } else if let l = headers["content-length"].flatMap(Int.init), l <= body.count {
        body = Array(body[0..<l])
    }
    return HTTPResult(status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
}

private func dechunk(_ b: [UInt8]) throws -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
        guard let lineEnd = (i..<max(i, b.count - 1)).first(where: { b[$0] == 13 && b[$0 + 1] == 10 }) else { break }
        let sizeText = String(decoding: b[i..<lineEnd], as: UTF8.self).split(separator: ";")[0]
        guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
            throw HTTPClientError.malformed("chunk size \(sizeText)")
        }
        if size == 0 { break }
        let start = lineEnd + 2
        guard start + size <= b.count else { throw HTTPClientError.malformed("short chunk") }
        out += b[start..<start + size]
        i = start + size + 2
    }
    return out
}

// MARK: - A server with the API

/// `cairn serve` with the admin API on an ephemeral port, its store and zones.
struct APIServer {
    let process: CairnProcess
    let dnsPort: Int
    /// `http://127.0.0.1:PORT` (no trailing slash).
    let baseURL: String
    let db: String
    let zones: String

    /// Applies `config` (a `cairn apply` file; nil = none) to a fresh store over `zones`, then
    /// starts `cairn serve --dns 127.0.0.1:0 --api 127.0.0.1:0` on it and waits for both.
    static func start(zones: String = Paths.fixture("zones").path,
                      config: String? = Paths.fixture("examples/gslb.yaml").path,
                      extraArgs: [String] = []) throws -> APIServer {
        let db = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-api-\(UUID().uuidString).sqlite").path
        if let config {
            let (rc, out) = try CairnProcess.run(["apply", "-f", config, "--db", db, "--zones", zones])
            guard rc == 0 else { throw APIServerError.apply(out) }
        }
        let p = try CairnProcess(["serve", "--zones", zones, "--db", db, "--dns", "127.0.0.1:0", "--api", "127.0.0.1:0"]
                                 + extraArgs)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let api = apiAddress(in: p.stderr.value) {
                return APIServer(process: p, dnsPort: p.port, baseURL: "http://\(api)", db: db, zones: zones)
            }
            if !p.process.isRunning { break }
            usleep(20_000)
        }
        p.stop()
        throw APIServerError.noAPI(p.stderr.value)
    }

    /// `HOST:PORT` of the `cairn: listening api HOST:PORT (http)` line.
    static func apiAddress(in log: String) -> String? {
        for line in log.split(separator: "\n") where line.hasPrefix("cairn: listening api ") {
            let rest = line.dropFirst("cairn: listening api ".count)
            if let addr = rest.split(separator: " ").first { return String(addr) }
        }
        return nil
    }

    /// `(process, dnsPort, apiBaseURL)`.
    var triple: (CairnProcess, Int, String) { (process, dnsPort, baseURL) }

    /// A new token on this server's store (`cairn token create`): the secret.
    func token(scope: String, name: String? = nil, expires: String? = nil) throws -> String {
        try APIServer.token(scope: scope, db: db, name: name, expires: expires)
    }

    /// A new token on `db` (`cairn token create --scope SCOPE [--name] [--expires]`): the secret,
    /// which the command prints alone on its last line.
    static func token(scope: String, db: String, name: String? = nil, expires: String? = nil) throws -> String {
        var args = ["token", "create", "--scope", scope, "--db", db]
        if let name { args += ["--name", name] }
        if let expires { args += ["--expires", expires] }
        let (rc, out) = try CairnProcess.run(args)
        guard rc == 0, let line = out.split(separator: "\n").last(where: { $0.hasPrefix("cairn_") }) else {
            throw APIServerError.token(out)
        }
        return String(line).trimmingCharacters(in: .whitespaces)
    }

    /// A request to this server: `path` starts with `/`; `token` becomes `Authorization: Bearer`.
    func call(_ method: String, _ path: String, token: String? = nil, headers: [String: String] = [:],
              body: String? = nil) throws -> HTTPResult {
        var h = headers
        if let token { h["Authorization"] = "Bearer \(token)" }
        return try http(method, baseURL + path, headers: h, body: body)
    }

    func stop() { process.stop() }
}

enum APIServerError: Error, CustomStringConvertible {
    case apply(String), noAPI(String), token(String)
    var description: String {
        switch self {
        case .apply(let s): return "cairn apply failed: \(s)"
        case .noAPI(let s): return "no `listening api` line: \(s)"
        case .token(let s): return "cairn token create failed: \(s)"
        }
    }
}
