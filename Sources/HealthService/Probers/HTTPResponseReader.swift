import GSLBCore
import Foundation

/// What an HTTP(S) monitor accepts: status set, body text, and where the load is reported.
extension MonitorCheck.HTTPCheck {
    /// `expect_status`, else any 2xx or 3xx.
    func accepts(_ status: Int) -> Bool { expectStatus.isEmpty ? (200...399).contains(status) : expectStatus.contains { $0.contains(status) } }

    var needsBody: Bool { expectBody != nil || loadJSON != nil }

    /// HEAD: no body follows the headers.
    var headRequest: Bool { method.uppercased() == "HEAD" }
}

/// An HTTP/1.1 response read by hand: status line and headers (at most 16 KiB), then a body framed by
/// Content-Length, chunked encoding or the close, kept up to 64 KiB.
struct HTTPResponseReader: StreamResponseReader {
    static let headerCap = 16 * 1024
    static let bodyCap = 64 * 1024

    let expect: MonitorCheck.HTTPCheck
    private var bytes: [UInt8] = []
    private var headerEnd: Int?
    private var status = 0
    private var headers: [String: String] = [:]

    init(expect: MonitorCheck.HTTPCheck) {
        self.expect = expect
    }

    var waitingFor: String { headerEnd == nil ? "the response" : "the response body" }

    mutating func connected() -> ProbeVerdict? { nil }
    mutating func sent() -> ProbeVerdict? { nil }

    mutating func read(_ chunk: UnsafeRawBufferPointer) -> ProbeVerdict? {
        // Headers, body and chunk framing together: what is past this is never looked at.
        let limit = 2 * HTTPResponseReader.headerCap + HTTPResponseReader.bodyCap
        bytes.append(contentsOf: chunk.prefix(max(0, limit - bytes.count)))
        let full = bytes.count >= limit
        if headerEnd == nil {
            let from = max(0, bytes.count - chunk.count - 3)
            guard let r = bytes[from...].firstRange(of: [13, 10, 13, 10]) else {
                return bytes.count > HTTPResponseReader.headerCap ? .down("HTTP: response headers longer than 16 KiB") : nil
            }
            headerEnd = r.upperBound
            if let bad = parseHead(bytes[..<r.lowerBound]) { return bad }
        }
        guard let headerEnd else { return nil }
        if !expect.accepts(status) { return .down("HTTP \(status)") }
        if !expect.needsBody || expect.headRequest || status == 204 || status == 304 || status < 200 {
            return evaluate(body: [UInt8]())
        }
        let body = bytes[headerEnd...]
        let cap = HTTPResponseReader.bodyCap
        if isChunked {
            let (decoded, complete) = HTTPResponseReader.dechunk(body)
            if complete || full { return evaluate(body: decoded.prefix(cap)) }
        } else if let length = contentLength {
            if body.count >= min(length, cap) || full { return evaluate(body: body.prefix(min(length, cap))) }
        } else if body.count >= cap || full {
            return evaluate(body: body.prefix(cap))
        }
        return nil
    }

    mutating func closed() -> ProbeVerdict {
        guard let headerEnd else {
            return .down(bytes.isEmpty ? "HTTP: connection closed without a response" : "HTTP: connection closed inside the response headers")
        }
        let body = bytes[headerEnd...]
        if isChunked { return evaluate(body: HTTPResponseReader.dechunk(body).body.prefix(HTTPResponseReader.bodyCap)) }
        if let length = contentLength { return evaluate(body: body.prefix(min(length, HTTPResponseReader.bodyCap))) }
        return evaluate(body: body.prefix(HTTPResponseReader.bodyCap))
    }

    private var isChunked: Bool { headers["transfer-encoding"]?.lowercased().contains("chunked") ?? false }
    private var contentLength: Int? { headers["content-length"].flatMap { Int($0) } }

    /// Reads `HTTP/1.1 200 OK` and the header lines; a verdict only when they do not read.
    private mutating func parseHead(_ head: ArraySlice<UInt8>) -> ProbeVerdict? {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).makeIterator()
        let statusLine = lines.next() ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]), (100...999).contains(code) else {
            return .down("HTTP: malformed status line \(quoted(String(statusLine), limit: 40))")
        }
        status = code
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            // Repeated headers: the first one counts (Content-Length must agree anyway).
            if headers[name] == nil { headers[name] = value }
        }
        return nil
    }

    /// The verdict once the status is accepted: body text, then load.
    private func evaluate(body: some Collection<UInt8>) -> ProbeVerdict {
        if let want = expect.expectBody, Array(body).firstRange(of: Array(want.utf8)) == nil {
            return .down("body does not contain \(quoted(want, limit: ProbeVerdict.detailLimit))")
        }
        var detail = "HTTP \(status)"
        var load: Double?
        var problems: [String] = []
        if let h = expect.loadHeader {
            if let v = headers[h.lowercased()] {
                load = loadNumber(v)
                if load == nil { problems.append("load header \(h) is not a number: \(quoted(v, limit: 20))") }
            } else {
                problems.append("no load header \(h)")
            }
        }
        if load == nil, let field = expect.loadJSON {
            let object = try? JSONSerialization.jsonObject(with: Data(body), options: [])
            if let dict = object as? [String: Any] {
                load = loadNumber(dict[field])
                if load == nil { problems.append(dict[field] == nil ? "no load field \(field)" : "load field \(field) is not a number") }
            } else {
                problems.append("body is not a JSON object (load field \(field))")
            }
        }
        for p in problems { detail += ", \(p)" }
        if let load { detail += ", load \(ConfigValidator.number(load))" }
        return .up(detail, load: load, loadProblem: load == nil && !problems.isEmpty ? problems.joined(separator: ", ") : nil)
    }

    /// Decodes a chunked body as far as it goes; `complete` once the last chunk is seen.
    static func dechunk(_ raw: ArraySlice<UInt8>) -> (body: [UInt8], complete: Bool) {
        var out: [UInt8] = []
        var i = raw.startIndex
        while true {
            guard let eol = raw[i...].firstRange(of: [13, 10]) else { return (out, false) }
            let sizeText = String(decoding: raw[i..<eol.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else { return (out, true) }
            if size == 0 { return (out, true) }
            let start = eol.upperBound
            let available = min(size, raw.endIndex - start)
            out.append(contentsOf: raw[start..<(start + available)])
            if available < size || out.count >= bodyCap { return (out, out.count >= bodyCap) }
            i = start + size
            guard raw.endIndex - i >= 2 else { return (out, false) }
            i += 2
        }
    }
}

/// A number from a header value or a JSON field: numbers, and text holding a number.
func loadNumber(_ v: Any?) -> Double? {
    switch v {
    // (NaN and infinities are not loads: a target that says "inf" has an unknown load)
    case let n as NSNumber: return n.doubleValue.isFinite ? n.doubleValue : nil
    case let s as String: return Double(s.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
    default: return nil
    }
}
