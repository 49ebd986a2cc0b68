import ArgumentParser
import Foundation
import GSLBCore
import NIOHTTP1

// What every API command shares: where the API is, the token, TLS, the JSON values of the
// responses, tables for people, and the one place where an HTTP error becomes an exit code.

/// Where the API is and how to authenticate (every API command, and `cairn explain` without --db/--zones).
struct APIConnectionOptions: ParsableArguments {
    @Option(name: .customLong("api"), help: ArgumentHelp("The admin API's URL (default: $CAIRN_API, else http://127.0.0.1:9053).", valueName: "URL"))
    var api: String?

    @Option(help: ArgumentHelp("A file holding the API token (default: $CAIRN_TOKEN).", valueName: "FILE"))
    var tokenFile: String?

    @Flag(help: "https: do not verify the server's certificate.")
    var insecure = false

    @Option(help: ArgumentHelp("https: trust the CAs in this PEM file instead of the system's.", valueName: "FILE"))
    var caFile: String?

    @Option(help: ArgumentHelp("How long to wait for the API: 500ms, 10s, 1m.", valueName: "DURATION"))
    var timeout: String = "10s"

    var url: String {
        if let api, !api.isEmpty { return api }
        return Environment.api() ?? "http://127.0.0.1:9053"
    }

    func token() throws -> String? {
        if let tokenFile {
            guard let d = FileManager.default.contents(atPath: tokenFile) else {
                throw ValidationError("--token-file: cannot read \(tokenFile)")
            }
            return String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return Environment.token()
    }

    func makeClient() throws -> APIClient {
        guard let ms = TimeSpan(timeout)?.wholeMilliseconds, ms > 0 else {
            throw ValidationError("--timeout: \"\(timeout)\" is not a duration such as 10s or 500ms")
        }
        do {
            return try APIClient(url: url, token: try token(), timeout: .milliseconds(Int64(ms)),
                                 tls: .init(insecure: insecure, caFile: caFile))
        } catch let e as APIClientError {
            throw ValidationError(e.message)
        }
    }

    /// Sends one request. An HTTP error prints `cairn: STATUS ERROR: FIELD: MESSAGE (METHOD URL)` and exits 1;
    /// no response at all prints why and exits 2.
    func call(_ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], body: Data? = nil,
              ifMatch: String? = nil) throws -> APIResponse {
        let client = try makeClient()
        let r: APIResponse
        do {
            r = try client.request(method, path, query: query, body: body, ifMatch: ifMatch)
        } catch let e as APIClientError {
            printError("cairn: \(e.message)")
            throw ExitCode(2)
        }
        guard r.ok else {
            // The server that said no, named: the default URL may reach another server than the one meant.
            printError("cairn: " + describeAPIError(r) + " (\(method.rawValue) \(client.baseURL)\(path))")
            throw ExitCode(1)
        }
        return r
    }
}

/// The common options of the API commands: the connection and `--json`.
struct APIOptions: ParsableArguments {
    @OptionGroup var connection: APIConnectionOptions

    @Flag(help: "Print the API's JSON response as is (for scripts).")
    var json = false

    func call(_ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], body: Data? = nil,
              ifMatch: String? = nil) throws -> APIResponse {
        try connection.call(method, path, query: query, body: body, ifMatch: ifMatch)
    }

    /// `--json`: the body verbatim; otherwise `human` gets the decoded body.
    func output(_ r: APIResponse, human: (JSONValue) throws -> Void) throws {
        if !json && r.body.isEmpty { return try human(.null) }
        // A body that is not JSON is shown as it came.
        guard !json, let v = JSONValue.decode(r.body) else { return printRaw(r.body) }
        try human(v)
    }

    /// GET an object, let `change` edit it, PUT it back with If-Match of the version read.
    func readModifyWrite(_ path: String, query: [(String, String?)] = [], change: (inout [String: JSONValue]) throws -> Void) throws -> APIResponse {
        let got = try call(.GET, path, query: query)
        guard var obj = JSONValue.decode(got.body)?.dictionary else {
            printError("cairn: \(path): the API did not return a JSON object")
            throw ExitCode(1)
        }
        let etag = got.headers.first(name: "ETag") ?? obj["version"]?.intValue.map { "\"\($0)\"" }
        try change(&obj)
        // The version travels in If-Match; a null is the same as an absent key.
        obj["version"] = nil
        obj = obj.filter { $0.value != .null }
        return try call(.PUT, path, query: query, body: JSONValue(obj).encoded(), ifMatch: etag)
    }
}

/// `-f FILE` (or `-f -` for stdin) or `--data JSON`: a request body given whole.
struct BodyOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("file")], help: ArgumentHelp("A JSON file with the object ('-' for stdin).", valueName: "FILE"))
    var file: String?

    @Option(help: ArgumentHelp("The object as JSON text.", valueName: "JSON"))
    var data: String?

    /// The body as a JSON object (checked locally so a typo fails before the request).
    func object() throws -> [String: JSONValue]? {
        guard file != nil || data != nil else { return nil }
        if file != nil && data != nil { throw ValidationError("give -f FILE or --data JSON, not both") }
        let path = file ?? ""
        let raw: Data
        if let data {
            raw = Data(data.utf8)
        } else if path == "-" {
            raw = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: path) else { throw ValidationError("-f: cannot read \(path)") }
            raw = d
        }
        guard let o = JSONValue.decode(raw)?.dictionary else {
            throw ValidationError("\(data != nil ? "--data" : path): not a JSON object")
        }
        return o
    }
}

/// The API's JSON as the commands read and write it: GSLBCore's `JSONValue`, the one JSON value type
/// (objects keep their keys, numbers their text, so a PUT writes back what a GET read).
extension JSONValue {
    struct NotJSON: Error, CustomStringConvertible {
        var description: String { "the API did not return JSON" }
    }

    /// A response body; nil when it is not JSON.
    static func decode(_ data: Data) -> JSONValue? { parse(String(decoding: data, as: UTF8.self)) }

    /// A response body that must be JSON.
    static func decoding(_ data: Data) throws -> JSONValue {
        guard let v = decode(data) else { throw NotJSON() }
        return v
    }

    /// An object with these keys, sorted.
    init(_ o: [String: JSONValue]) { self = .object(o.keys.sorted().map { Field(key: $0, value: o[$0]!) }) }

    static func int(_ i: Int) -> JSONValue { .number(String(i)) }

    /// A number as written on a command line: whole numbers as integers.
    static func double(_ d: Double) -> JSONValue {
        .number(d.rounded() == d && abs(d) < 1e15 ? String(Int(d)) : String(d))
    }

    func encoded() -> Data { Data(compactText.utf8) }

    var dictionary: [String: JSONValue]? {
        guard case .object(let fields) = self else { return nil }
        return Dictionary(fields.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.last { $0.key == key }?.value
    }

    var array: [JSONValue] {
        if case .array(let a) = self { return a }
        return []
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var intValue: Int? {
        if case .number(let t) = self { return Int(t) }
        return nil
    }

    var isNull: Bool { self == .null }

    /// For a table cell or a `key: value` line: `-` for null, strings bare, the rest compact.
    var text: String {
        switch self {
        case .null: return "-"
        case .bool(let b): return b ? "true" : "false"
        case .number(let t): return t
        case .string(let s): return s
        case .array(let a): return "[" + a.map { $0.inlineText }.joined(separator: ", ") + "]"
        case .object(let fields):
            return "{" + fields.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.inlineText)" }.joined(separator: ", ") + "}"
        }
    }

    private var inlineText: String {
        if case .string(let s) = self, s.isEmpty || s.contains(where: { ",{}[]: ".contains($0) }) {
            return "\"\(s)\""
        }
        return text
    }
}

extension Optional where Wrapped == JSONValue {
    /// `-` for a missing key.
    var text: String { self?.text ?? "-" }
}

/// The API's error JSON as one line: `STATUS ERROR: FIELD: MESSAGE`.
func describeAPIError(_ r: APIResponse) -> String {
    if let v = JSONValue.decode(r.body), let err = v["error"]?.string {
        var s = "\(r.status) \(err)"
        if let f = v["field"]?.string, !f.isEmpty { s += ": \(f)" }
        if let m = v["message"]?.string, !m.isEmpty { s += ": \(m)" }
        return s
    }
    let text = String(decoding: r.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let reason = HTTPResponseStatus(statusCode: r.status).reasonPhrase
    return "\(r.status) \(reason)" + (text.isEmpty ? "" : ": \(text.prefix(500))")
}

/// Aligned columns, padded with spaces, headers in capitals.
func printTable(_ header: [String], _ rows: [[String]]) {
    let all = [header.map { $0.uppercased() }] + rows
    var widths = [Int](repeating: 0, count: header.count)
    for r in all { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    for r in all {
        var line = r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0) }.joined()
        while line.hasSuffix(" ") { line.removeLast() }
        print(line)
    }
}

/// `key: value` lines: the keys of `order` first (when present), then the rest sorted; `skip` left out.
func printObject(_ v: JSONValue, order: [String], skip: Set<String> = []) {
    guard let o = v.dictionary else { print(v.text); return }
    let rest = o.keys.filter { !order.contains($0) && !skip.contains($0) }.sorted()
    for k in order + rest where !skip.contains(k) {
        guard let value = o[k] else { continue }
        print("\(k): \(value.text)")
    }
}

func printRaw(_ body: Data) {
    var s = String(decoding: body, as: UTF8.self)
    if !s.isEmpty && !s.hasSuffix("\n") { s += "\n" }
    print(s, terminator: "")
}

func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// A path under /v1 with each dynamic part percent-encoded: `apiPath("pools", name, "members")`.
func apiPath(_ parts: String...) -> String {
    "/v1/" + parts.map(APIClient.segment).joined(separator: "/")
}
