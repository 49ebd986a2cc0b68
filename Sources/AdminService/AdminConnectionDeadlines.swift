import NIOCore

/// When an admin API connection must be closed, from what it has done so far. A value with no
/// I/O: `AdminConnectionGuard` feeds it the events and the time and closes when it says so (and
/// tests drive it with made-up instants).
///
/// - Until the TLS handshake completes (with TLS): closed at accept + `tlsHandshakeTimeout`.
/// - Waiting for a request head: closed at `headerTimeout` after the head's start, which is the
///   accept for the first request and the first byte for later ones.
/// - Reading a request body: closed when no byte came for `idleTimeout`.
/// - Answering (a head was read, its response is not written yet): no deadline.
/// - Idle after a response, no byte yet: closed at `idleTimeout` after the response.
struct AdminConnectionDeadlines {
    enum Reason: String {
        case tlsHandshake = "TLS handshake not completed"
        case head = "request head not completed"
        case body = "request body stalled"
        case idle = "idle"
    }

    let limits: AdminConnectionLimits
    let accepted: NIODeadline
    private(set) var handshakePending: Bool
    /// The start of the head now awaited; nil when none has started (idle) or while answering.
    private(set) var headSince: NIODeadline?
    /// The end of the last response, while no request is in flight.
    private(set) var idleSince: NIODeadline?
    /// Heads read whose response has not been written.
    private(set) var inFlight = 0
    private(set) var readingBody = false
    private(set) var lastByte: NIODeadline

    init(limits: AdminConnectionLimits, accepted: NIODeadline, tls: Bool) {
        self.limits = limits
        self.accepted = accepted
        handshakePending = tls
        headSince = accepted
        lastByte = accepted
    }

    /// Inside a request: from its head to the end of its response. Such a connection is not
    /// evicted at the total cap.
    var inRequest: Bool { inFlight > 0 }

    mutating func bytesRead(at now: NIODeadline) {
        if readingBody {
            lastByte = now
        } else if headSince == nil {
            headSince = now
        }
    }

    mutating func handshakeCompleted() { handshakePending = false }

    mutating func headRead(at now: NIODeadline) {
        headSince = nil
        idleSince = nil
        inFlight += 1
        readingBody = true
        lastByte = now
    }

    mutating func bodyRead(at now: NIODeadline) { lastByte = now }

    mutating func endRead() { readingBody = false }

    mutating func responseEnded(at now: NIODeadline) {
        inFlight = max(0, inFlight - 1)
        if inFlight == 0 { idleSince = now }
    }

    /// The earliest instant at which `expired` may answer; nil while no deadline runs.
    var next: NIODeadline? {
        var d: NIODeadline?
        func earliest(_ x: NIODeadline) { d = d.map { min($0, x) } ?? x }
        if handshakePending { earliest(accepted + limits.tlsHandshakeTimeout) }
        if readingBody {
            earliest(lastByte + limits.idleTimeout)
        } else if inFlight == 0 {
            if let h = headSince { earliest(h + limits.headerTimeout) } else if let i = idleSince { earliest(i + limits.idleTimeout) }
        }
        return d
    }

    /// Why the connection must be closed at `now`, or nil.
    func expired(at now: NIODeadline) -> Reason? {
        if handshakePending && now >= accepted + limits.tlsHandshakeTimeout { return .tlsHandshake }
        if readingBody { return now >= lastByte + limits.idleTimeout ? .body : nil }
        guard inFlight == 0 else { return nil }
        if let h = headSince { return now >= h + limits.headerTimeout ? .head : nil }
        if let i = idleSince, now >= i + limits.idleTimeout { return .idle }
        return nil
    }
}
