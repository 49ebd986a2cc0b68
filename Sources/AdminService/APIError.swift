import GSLBCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The one error type of the admin API: an HTTP status, a code, the field concerned and a
/// message. Store and validation errors become one of these in `APIError.from`. Its JSON is the
/// body of every error response: `{error, field, message}`.
public struct APIError: Error, Sendable, CustomStringConvertible, Encodable {
    public var status: HTTPResponse.Status
    public var code: String
    public var field: String?
    public var message: String

    public init(_ status: HTTPResponse.Status, _ code: String, field: String? = nil, _ message: String) {
        self.status = status; self.code = code; self.field = field; self.message = message
    }

    public var description: String { "\(status.code) \(code): \(field.map { "\($0): " } ?? "")\(message)" }

    enum CodingKeys: String, CodingKey {
        case code = "error", field, message, status, title, detail
    }

    /// RFC 9457 problem details: Cairn's `error`, `field` and `message` (extension members, as before), and the
    /// standard `status`, `title` (the status's reason phrase, as for the default type `about:blank`) and
    /// `detail` (= `message`).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code)
        try c.encode(field, forKey: .field)
        try c.encode(message, forKey: .message)
        try c.encode(status.code, forKey: .status)
        try c.encode(status.reasonPhrase, forKey: .title)
        try c.encode(message, forKey: .detail)
    }

    /// The media type of every error body (RFC 9457).
    public static let contentType = "application/problem+json"

    static func badRequest(_ field: String?, _ message: String) -> APIError { APIError(.badRequest, "bad-request", field: field, message) }
    static func invalid(_ field: String?, _ message: String) -> APIError {
        APIError(.unprocessableContent, "invalid", field: field, message)
    }
    /// A body's decode (`ConfigFile.decode`) that failed: its first problem, on the field it names (none for the body
    /// as a whole).
    static func invalid(_ issues: [ConfigIssue]) -> APIError { invalid(issues[0].path.isEmpty ? nil : issues[0].path, issues[0].message) }
    static func notFound(_ message: String, field: String? = nil) -> APIError { APIError(.notFound, "not-found", field: field, message) }
    static func conflict(_ field: String?, _ message: String) -> APIError { APIError(.conflict, "conflict", field: field, message) }

    /// `body`'s result; a repository conflict it throws becomes 409 on `field` (a name taken, a state that does not
    /// allow the step), not the stale If-Match (412) that `from` makes of it.
    static func conflictAs<T>(_ field: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as RepositoryFailure where e.failureKind == .conflict {
            throw APIError.conflict(field, e.failureMessage)
        }
    }

    /// Maps any error to an API error, in one place.
    static func from(_ error: any Error) -> APIError {
        if let e = error as? APIError { return e }
        if let e = error as? RepositoryFailure {
            switch e.failureKind {
            case .invalid: return .invalid(nil, e.failureMessage)
            case .notFound: return .notFound(e.failureObject.map { "\($0): \(e.failureMessage)" } ?? e.failureMessage)
            // The repository's only conflict is a version check failing: a stale If-Match (RFC 9110 §13.1.1).
            case .conflict:
                return APIError(.preconditionFailed, "precondition-failed", field: "If-Match",
                                e.failureObject.map { "\($0): \(e.failureMessage)" } ?? e.failureMessage)
            case .unavailable: return APIError(.serviceUnavailable, "unavailable", "the store failed: \(e.failureMessage)")
            }
        }
        if error is NIOTooManyBytesError || (error as? HTTPError)?.status == .contentTooLarge {
            return APIError(.contentTooLarge, "payload-too-large", field: "body", "the body is over 1 MiB")
        }
        if let e = error as? HTTPError {
            switch e.status {
            case .notFound: return .notFound("no such path")
            case .methodNotAllowed: return APIError(.methodNotAllowed, "method-not-allowed", "method not allowed")
            default:
                return APIError(e.status, e.status.code < 500 ? "bad-request" : "internal", e.body ?? e.status.reasonPhrase)
            }
        }
        return APIError(.internalServerError, "internal", "\(error)")
    }
}
