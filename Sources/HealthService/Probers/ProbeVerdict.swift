import GSLBCore
import NIOCore

/// What a probe concluded, before its latency is known.
struct ProbeVerdict: Sendable {
    /// Longest text a probe detail quotes (what a target sent, an option's value).
    static let detailLimit = 64

    var ok: Bool
    var detail: String
    var load: Double?
    /// The monitor reads a load (`load_header`, `load_json`) and this answer gave none that is a number: why.
    var loadProblem: String?

    static func up(_ detail: String, load: Double? = nil, loadProblem: String? = nil) -> ProbeVerdict {
        ProbeVerdict(ok: true, detail: detail, load: load, loadProblem: loadProblem)
    }
    static func down(_ detail: String) -> ProbeVerdict { ProbeVerdict(ok: false, detail: detail, load: nil) }

    /// The result, with the latency measured on the monotonic clock from `start`.
    func result(since start: NIODeadline) -> ProbeResult {
        ProbeResult(ok: ok, latency: Double((NIODeadline.now() - start).nanoseconds) / 1e9, detail: detail, load: load,
                    loadProblem: loadProblem)
    }

    /// `timeout after 500 ms`, with what the probe was doing when time ran out.
    static func timeout(_ ms: Int, _ doing: String) -> ProbeVerdict {
        .down(doing.isEmpty ? "timeout after \(ms) ms" : "timeout after \(ms) ms \(doing)")
    }
}

/// `quoted` for raw bytes (invalid UTF-8 is replaced).
func quoted(_ bytes: some Collection<UInt8>, limit: Int = ProbeVerdict.detailLimit) -> String {
    quoted(String(decoding: bytes.prefix(limit * 4), as: UTF8.self), limit: limit)
}
