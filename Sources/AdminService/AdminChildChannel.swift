import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// The admin API's child channel: Hummingbird's HTTP/1 channel (`base`) with the connection caps
/// applied at accept and the deadlines of `AdminConnectionGuard` around it. With TLS it sits inside
/// Hummingbird's `TLSChannel`, so the guard comes right after the TLS handler and sees the
/// handshake's completion and the decrypted bytes.
///
/// Past a cap the accepted socket is closed at once, before any handler is added: it costs no
/// more than the accept, and the listen backlog keeps draining (not accepting would leave the
/// connections queued in the kernel and hold up the clients behind them).
struct AdminChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    struct Refused: Error {}

    let base: Base
    let limits: AdminConnectionLimits
    let tls: Bool
    let table: AdminConnectionTable
    let logger: Logger

    func setup(channel: any Channel, logger hbLogger: Logger) -> EventLoopFuture<Value> {
        let accepted = NIODeadline.now()
        switch table.admit(channel, key: AdminConnectionTable.key(for: channel.remoteAddress), now: accepted) {
        case .refusedAddress, .refusedTotal:
            if let r = table.report(now: accepted) { logger.warning("\(r)", metadata: ["event": "api.connection_limits"]) }
            // Nothing closes a channel whose initializer failed: close it here.
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(Refused())
        case .admitted(let evicted):
            if let evicted {
                evicted.close(promise: nil)
                if let r = table.report(now: accepted) { logger.warning("\(r)", metadata: ["event": "api.connection_limits"]) }
            }
        }
        let table = self.table
        channel.closeFuture.whenComplete { _ in table.remove(channel) }
        do {
            try channel.pipeline.syncOperations.addHandler(
                AdminConnectionGuard(limits: limits, accepted: accepted, tls: tls, table: table, logger: logger))
        } catch {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: hbLogger).flatMapThrowing { value in
            // The observer goes right after the HTTP/1 decoder, where requests are NIOHTTP1 parts.
            let sync = channel.pipeline.syncOperations
            let connectionGuard = try sync.handler(type: AdminConnectionGuard.self)
            let decoder = try sync.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try sync.addHandler(AdminRequestObserver(connectionGuard), position: .after(decoder))
            return value
        }.flatMapErrorThrowing { error in
            channel.close(promise: nil)
            throw error
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
