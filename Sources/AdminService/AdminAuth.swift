import Foundation
import GSLBCore
import Logging
import Synchronization

/// Bearer-token checks, failed-authentication audit and per-source rate limiting.
final class AdminAuth: Sendable {
    let repo: any TokenRepository & AuditRepository
    let clock: @Sendable () -> Double
    let failureLimit: Int
    let failureWindow: Double
    let logger: Logger
    private let failures = Mutex<[String: [Double]]>([:])
    private let touched = Mutex<[Int64: Double]>([:])
    /// Tokens that authenticated recently, by secret, used only while the store is unreachable: a
    /// database outage must not lock operators out of `/metrics` and `/v1/health`, which do not need
    /// it. At most `knownLimit` entries, each trusted for `outageGrace` seconds after it was last
    /// checked against the store (a token deleted during an outage works until then).
    private let known = Mutex<[String: (token: APIToken, at: Double)]>([:])
    static let knownLimit = 1024
    static let outageGrace: Double = 3600

    init(repo: any TokenRepository & AuditRepository, clock: @escaping @Sendable () -> Double, failureLimit: Int, failureWindow: Double,
         logger: Logger) {
        self.repo = repo; self.clock = clock; self.failureLimit = failureLimit; self.failureWindow = failureWindow
        self.logger = logger
    }

    /// The principal of a request that may do `scope`, or an error (401/403/429).
    func authenticate(header: String?, scope: TokenScope, source: String, requestID: String,
                      what: String) throws -> APIToken {
        let now = clock()
        // A source over the limit gets 429 for anything but a valid token: brute force and
        // audit flooding stop, while automation with a good token on the same host goes on.
        let blocked = failures.withLock { f -> Bool in
            let recent = (f[source] ?? []).filter { $0 > now - failureWindow }
            f[source] = recent.isEmpty ? nil : recent
            return recent.count >= failureLimit
        }
        let tooMany = APIError(.tooManyRequests, "rate-limited", field: "Authorization",
                               "too many failed authentications from \(source); try again later")
        func fail(_ why: String) -> APIError {
            if blocked { return tooMany }
            failures.withLock { f in
                f[source, default: []].append(now)
                if f.count > 4096 { f = f.filter { $0.value.contains { $0 > now - failureWindow } } }
            }
            logger.warning("authentication failed", metadata: ["event": "api.auth_failed", "source": "\(source)", "reason": "\(why)", "request": "\(what)"])
            do {
                try repo.audit([AuditEntry(time: now, principal: "-", source: source, requestID: requestID,
                                           action: "auth-failure", object: "api:\(what)",
                                           after: jsonText(["reason": why]))])
            } catch {
                logger.error("cannot audit a failed authentication: \(error)", metadata: ["event": "api.audit_failed"])
            }
            return APIError(.unauthorized, "unauthorized", field: "Authorization", why)
        }
        guard let header, !header.isEmpty else { throw fail("no bearer token") }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw fail("the Authorization header is not `Bearer TOKEN`") }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        let found: APIToken?
        do {
            found = try repo.token(secret: secret)
            known.withLock { k in
                if let t = found {
                    if k.count >= Self.knownLimit, k[secret] == nil, let oldest = k.min(by: { $0.value.at < $1.value.at })?.key { k[oldest] = nil }
                    k[secret] = (t, now)
                } else {
                    k[secret] = nil
                }
            }
        } catch let e as any RepositoryFailure where e.failureKind == .unavailable {
            guard let cached = known.withLock({ $0[secret] }), now - cached.at <= Self.outageGrace else { throw e }
            found = cached.token
        }
        guard let token = found else { throw fail("unknown token") }
        if token.isExpired(at: now) { throw fail("the token has expired") }
        guard token.scope.allows(scope) else {
            throw APIError(.forbidden, "forbidden", field: "Authorization",
                           "token \"\(token.name)\" has scope \(token.scope.rawValue); this needs \(scope.rawValue)")
        }
        let last = touched.withLock { t -> Double? in
            let l = t[token.id]
            if l == nil || now - l! > 60 { t[token.id] = now; return nil }
            return l
        }
        if last == nil { try? repo.touchToken(id: token.id, at: now) }
        return token
    }
}
