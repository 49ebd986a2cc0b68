import DNSWire
import GSLBCore
import NIOCore
import NIOPosix

/// `type: dns`: one UDP query (`query: {name, type}`, default `. SOA`), the answer's RCODE checked against
/// `expect_rcode` (default NOERROR) and, with `expect_address`, that address looked for among the answer's A/AAAA.
public struct DNSProber: Prober {
    let group: any EventLoopGroup

    public init(group: any EventLoopGroup) {
        self.group = group
    }

    public func probe(_ spec: ProbeSpec) async -> ProbeResult {
        let start = NIODeadline.now()
        let m = spec.monitor
        guard case .dns(let check)? = spec.check else {
            return ProbeVerdict.down(spec.badOption ?? "not a DNS monitor").result(since: start)
        }
        let target: SocketAddress
        do { target = try SocketAddress(ipAddress: spec.address, port: spec.port) } catch {
            return ProbeVerdict.down("bad address \(quoted(spec.address, limit: ProbeVerdict.detailLimit))").result(since: start)
        }
        let timeoutMs = max(1, m.timeoutMs)
        let id = UInt16.random(in: 0...UInt16.max)
        let query = QueryBuilder.make(id: id, name: check.name, type: check.type, edns: (udpSize: 1232, dnssecOK: false))
        let loop = group.next()
        let completion = ProbeCompletion(loop: loop, start: start)
        completion.phase = "waiting for the answer"
        loop.execute {
            completion.timeout = loop.scheduleTask(deadline: start + .milliseconds(Int64(timeoutMs))) {
                completion.finish(.timeout(timeoutMs, completion.phase))
            }
            // A connected socket: answers from elsewhere are filtered by the kernel, and an ICMP
            // port unreachable arrives as "connection refused" at once instead of a timeout.
            DatagramBootstrap(group: loop)
                .channelInitializer { channel in
                    completion.channel = channel
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            DNSProbeHandler(id: id, check: check, completion: completion))
                    }
                }
                .connect(to: target)
                .whenComplete { result in
                    switch result {
                    case .failure(let error):
                        completion.finish(.down("connect: " + ProbeErrorText.describe(error)))
                    case .success(let channel):
                        guard !completion.done else { return }
                        let buffer = channel.allocator.buffer(bytes: query)
                        channel.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: buffer)).whenFailure { error in
                            completion.finish(.down("send: " + ProbeErrorText.describe(error)))
                        }
                    }
                }
        }
        return await completion.result()
    }
}

extension MonitorCheck.DNSCheck {
    /// What the answer shows against what the check expects.
    func evaluate(_ msg: Message) -> ProbeVerdict {
        guard msg.rcode == expectRcode else {
            return .down(expectRcode == .noError ? "rcode \(msg.rcode)" : "rcode \(msg.rcode), expected \(expectRcode)")
        }
        let answers = msg.answer.count
        if let address = expectAddress, let addressText = expectAddressText {
            let found = msg.answer.contains { ($0.type == .a || $0.type == .aaaa) && $0.rdata == address }
            if !found {
                return .down("answer does not contain \(addressText)" + (msg.tc ? " (truncated)" : ""))
            }
            return .up("rcode \(msg.rcode), \(addressText) in the answer")
        }
        return .up("rcode \(msg.rcode), \(answers) answer\(answers == 1 ? "" : "s")")
    }
}

final class DNSProbeHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let id: UInt16
    private let check: MonitorCheck.DNSCheck
    private let completion: ProbeCompletion

    init(id: UInt16, check: MonitorCheck.DNSCheck, completion: ProbeCompletion) {
        self.id = id; self.check = check; self.completion = completion
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !completion.done else { return }
        let bytes = Array(unwrapInboundIn(data).data.readableBytesView)
        // Not ours (an old answer, another ID, a query): keep waiting.
        guard bytes.count >= 12, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id, bytes[2] & 0x80 != 0 else { return }
        do {
            completion.finish(check.evaluate(try Message(bytes: bytes)))
        } catch {
            completion.finish(.down("malformed answer: \(error)"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !completion.done else { return }
        completion.finish(.down(ProbeErrorText.describe(error)))
    }
}
