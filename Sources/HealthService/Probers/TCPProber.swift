import GSLBCore
import NIOCore

/// `type: tcp`: connects; with `send`, writes it; with `expect`, reads until the text appears in the first bytes.
/// Runs on the probe loop (`ProbeLoop`) when the address is an IP literal, else on `group`.
public struct TCPProber: Prober, ProbeStarter {
    let group: any EventLoopGroup

    public init(group: any EventLoopGroup) {
        self.group = group
    }

    public func start(_ spec: ProbeSpec, done: @escaping @Sendable (ProbeResult) -> Void) -> Bool {
        guard let loop = ProbeLoop.shared else { return false }
        if spec.check == nil {
            done(ProbeVerdict.down(spec.badOption ?? "bad monitor options").result(since: .now()))
            return true
        }
        let (send, reader) = prepare(spec)
        return loop.start(address: spec.address, port: spec.port, timeoutMs: spec.monitor.timeoutMs, request: send, reader: reader, done: done)
    }

    public func probe(_ spec: ProbeSpec) async -> ProbeResult {
        if let r = await probeThroughStart(spec) { return r }
        if spec.check == nil { return ProbeVerdict.down(spec.badOption ?? "bad monitor options").result(since: .now()) }
        let (send, reader) = prepare(spec)
        return await StreamProbe.run(group: group, address: spec.address, port: spec.port, timeoutMs: spec.monitor.timeoutMs,
                                     tls: nil, request: send, reader: reader)
    }

    /// What to write (`send`) and the judge of what comes back (`expect`).
    func prepare(_ spec: ProbeSpec) -> (send: [UInt8], reader: TCPBannerReader) {
        guard case .tcp(let check)? = spec.check else { return ([], TCPBannerReader(sendCount: 0, expect: nil)) }
        return (spec.request, TCPBannerReader(sendCount: spec.request.count, expect: check.expect))
    }
}

/// Looks for `expect` in the first 64 KiB read.
struct TCPBannerReader: StreamResponseReader {
    static let cap = 64 * 1024
    let sendCount: Int
    let expect: String?
    private var seen: [UInt8] = []

    init(sendCount: Int, expect: String?) {
        self.sendCount = sendCount
        self.expect = expect
    }

    var waitingFor: String { expect.map { quoted($0, limit: ProbeVerdict.detailLimit) } ?? "the peer" }

    mutating func connected() -> ProbeVerdict? {
        sendCount == 0 && expect == nil ? .up("connected") : nil
    }

    mutating func sent() -> ProbeVerdict? {
        expect == nil ? .up("connected, sent \(sendCount) bytes") : nil
    }

    mutating func read(_ bytes: UnsafeRawBufferPointer) -> ProbeVerdict? {
        guard let expect else { return nil }
        seen.append(contentsOf: bytes.prefix(TCPBannerReader.cap - seen.count))
        if seen.firstRange(of: Array(expect.utf8)) != nil { return .up("read \(quoted(expect, limit: ProbeVerdict.detailLimit))") }
        if seen.count >= TCPBannerReader.cap { return .down("first 64 KiB do not contain \(quoted(expect, limit: ProbeVerdict.detailLimit))") }
        return nil
    }

    mutating func closed() -> ProbeVerdict {
        guard let expect else { return .down("connection closed") }
        if seen.isEmpty { return .down("connection closed before \(quoted(expect, limit: ProbeVerdict.detailLimit))") }
        return .down("response does not contain \(quoted(expect, limit: ProbeVerdict.detailLimit)) (got \(quoted(seen, limit: 40)))")
    }
}
