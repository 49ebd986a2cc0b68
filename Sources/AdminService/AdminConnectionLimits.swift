import NIOCore

/// What one admin API connection may hold, and for how long (docs/security.md, "Admin API
/// connections"). The model is the one of nginx, HAProxy and Apache: a deadline for the whole
/// request head, an idle timeout between requests, a handshake deadline, a cap per client address
/// and a cap in total; Knot and NSD bound their TCP clients the same way.
public struct AdminConnectionLimits: Sendable {
    /// Open API connections at most. At the cap a new connection closes the oldest one that is not
    /// inside a request (waiting for its head, or idle): slots full of slow heads cannot lock out a
    /// monitoring check. When every slot is inside a request, the new connection is closed.
    public var maxConnections: Int
    /// Open API connections from one address (IPv6: one /64) at most; past it new ones are closed at
    /// once. One address cannot take the slots of the others.
    public var maxConnectionsPerAddress: Int
    /// The whole request head must arrive within this: from the accept for a connection's first
    /// request (the TLS handshake included), from the first byte of each later one. Bytes that keep
    /// coming do not move it (a head sent one byte at a time is cut at the deadline).
    public var headerTimeout: TimeAmount
    /// A kept-alive connection waits this long after a response for the first byte of its next
    /// request; a request body that stalls this long (no byte) is cut too.
    public var idleTimeout: TimeAmount
    /// With TLS, the handshake must complete within this of the accept.
    public var tlsHandshakeTimeout: TimeAmount

    public init(maxConnections: Int = 1024, maxConnectionsPerAddress: Int = 64,
                headerTimeout: TimeAmount = .seconds(10), idleTimeout: TimeAmount = .seconds(60),
                tlsHandshakeTimeout: TimeAmount = .seconds(5)) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.tlsHandshakeTimeout = tlsHandshakeTimeout
    }
}
