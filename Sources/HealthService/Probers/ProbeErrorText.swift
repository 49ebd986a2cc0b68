import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Turns the errors of sockets, NIO and TLS into the short words an operator reads in a probe detail
/// (`connection refused`, `TLS: certificate verify failed`). The one place where probe errors become text.
enum ProbeErrorText {
    static func describe(_ error: any Error) -> String {
        if let e = error as? IOError { return errnoText(e.errnoCode) }
        if let e = error as? NIOConnectionError {
            if let first = e.connectionErrors.first { return describe(first.error) }
            if let dns = e.dnsAError ?? e.dnsAAAAError { return "cannot resolve \(e.host): \(describe(dns))" }
            return "cannot connect to \(e.host)"
        }
        if let e = error as? ChannelError {
            switch e {
            case .connectTimeout: return "timed out"
            case .eof, .ioOnClosedChannel, .alreadyClosed: return "connection closed"
            default: return "\(e)"
            }
        }
        if let e = error as? NIOSSLError { return "TLS: " + tlsText(e) }
        if let e = error as? NIOSSLExtraError {
            switch e {
            case .failedToValidateHostname: return "TLS: certificate does not match the server name"
            case .cannotUseIPAddressInSNI: return "TLS: an IP address cannot be sent as SNI"
            case .invalidSNIHostname: return "TLS: invalid SNI host name"
            default: return "TLS: \(e)"
            }
        }
        return "\(error)"
    }

    static func tlsText(_ e: NIOSSLError) -> String {
        switch e {
        case .handshakeFailed(let ssl):
            let text = "\(ssl)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") { return "certificate verify failed" }
            if text.contains("WRONG_VERSION_NUMBER") { return "handshake failed: the server does not speak TLS" }
            if let reason = reasonCode(text) { return "handshake failed: \(reason)" }
            return "handshake failed"
        case .uncleanShutdown: return "connection closed without close_notify"
        default: return "\(e)"
        }
    }

    /// The BoringSSL reason at the end of `error:…:OPENSSL_internal:REASON`, lower-cased.
    static func reasonCode(_ text: String) -> String? {
        guard let r = text.range(of: "OPENSSL_internal:") else { return nil }
        let tail = text[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        return tail.isEmpty ? nil : tail.lowercased().replacingOccurrences(of: "_", with: " ")
    }

    static func errnoText(_ code: Int32) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused"
        case ECONNRESET: return "connection reset"
        case EHOSTUNREACH: return "host unreachable"
        case ENETUNREACH: return "network unreachable"
        case ETIMEDOUT: return "timed out"
        case EADDRNOTAVAIL: return "address not available"
        case EPIPE: return "connection closed"
        default:
            guard let s = strerror(code) else { return "errno \(code)" }
            return String(cString: s).lowercased()
        }
    }
}
