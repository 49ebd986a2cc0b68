import DNSWire

/// What a monitor checks, typed per kind: a monitor's options (`Monitor.options`, JSON text as stored) parsed
/// once, when a configuration is validated or a probe target is built, never per probe. The validator reports
/// the problems of that one parse, and the probers read the typed value.
public enum MonitorCheck: Hashable, Sendable {
    case tcp(TCPCheck)
    /// `http` and `https` (`tls`).
    case http(HTTPCheck)
    case dns(DNSCheck)
    case command(CommandCheck)

    /// `type: tcp`: connect, write `send`, look for `expect` in the first bytes read.
    public struct TCPCheck: Hashable, Sendable {
        public var send: [UInt8] = []
        public var expect: String?
    }

    /// `type: http` / `https`.
    public struct HTTPCheck: Hashable, Sendable {
        public var tls: Bool
        public var method = "GET"
        public var path = "/"
        /// nil: the target's address (and port, unless the scheme's default).
        public var host: String?
        /// Accepted statuses; empty: any 2xx or 3xx.
        public var expectStatus: [ClosedRange<Int>] = []
        public var expectBody: String?
        public var loadHeader: String?
        public var loadJSON: String?
        public var verifyTLS = true
        public var sni: String?
        public init(tls: Bool) { self.tls = tls }
    }

    /// `type: dns`.
    public struct DNSCheck: Hashable, Sendable {
        public var name: DomainName
        public var type: RecordType
        public var expectRcode: ResponseCode = .noError
        /// 4 or 16 octets, and the text as written.
        public var expectAddress: [UInt8]?
        public var expectAddressText: String?
    }

    /// `type: command`: the argv template (`{address}`, `{port}`, `{pool}` substituted per target).
    public struct CommandCheck: Hashable, Sendable {
        public var argv: [String]

        /// The argv names `{pool}`: its runs differ per pool, so a member in several pools is probed once per pool.
        public var namesPool: Bool { argv.contains { $0.contains("{pool}") } }
    }

    /// Response codes `expect_rcode` accepts, by name.
    public static let rcodes: [(String, ResponseCode)] = [
        ("NOERROR", .noError), ("FORMERR", .formErr), ("SERVFAIL", .servFail), ("NXDOMAIN", .nxDomain),
        ("NOTIMP", .notImp), ("REFUSED", .refused), ("YXDOMAIN", ResponseCode(rawValue: 6)),
        ("YXRRSET", ResponseCode(rawValue: 7)), ("NXRRSET", ResponseCode(rawValue: 8)),
        ("NOTAUTH", ResponseCode(rawValue: 9)), ("NOTZONE", ResponseCode(rawValue: 10)),
    ]

    /// Parses `m`'s options for its type: the check (nil when any option is wrong) and every problem, each with
    /// its path below the monitor (`expect_status[1]`, `query.name`) and, in `bad`, the option and its text.
    public static func parse(_ m: Monitor) -> (check: MonitorCheck?, issues: [ConfigIssue], bad: (key: String, value: String)?) {
        var p = Parser(monitor: m)
        let check = p.run()
        return (p.issues.isEmpty ? check : nil, p.issues, p.bad)
    }

    struct Parser {
        let monitor: Monitor
        var issues: [ConfigIssue] = []
        var bad: (key: String, value: String)?

        mutating func add(_ path: String, _ message: String, key: String) {
            issues.append(ConfigIssue(path: path, message: message))
            if bad == nil { bad = (key, monitor.options[key] ?? "") }
        }

        func text(_ key: String) -> String? { monitor.options[key] }

        /// Free text: present and not empty.
        mutating func freeText(_ key: String) -> String? {
            guard let v = text(key) else { return nil }
            if v.isEmpty { add(key, "must not be empty", key: key) }
            return v
        }

        mutating func run() -> MonitorCheck? {
            let allowed = Set(ConfigValidator.monitorOptions[monitor.type] ?? [])
            for key in monitor.options.keys.sorted() {
                guard ConfigValidator.monitorOptionKeys.contains(key) else { add(key, "unknown monitor option", key: key); continue }
                guard allowed.contains(key) else { add(key, "not used by \(monitor.type.rawValue) monitors", key: key); continue }
            }
            switch monitor.type {
            case .tcp:
                return .tcp(TCPCheck(send: freeText("send").map { Array($0.utf8) } ?? [], expect: freeText("expect")))
            case .http, .https:
                return .http(http(tls: monitor.type == .https))
            case .dns:
                return dns().map { .dns($0) }
            case .command:
                return command().map { .command($0) }
            }
        }

        mutating func http(tls: Bool) -> HTTPCheck {
            var c = HTTPCheck(tls: tls)
            if let v = text("method") {
                if v.isEmpty || !v.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5a }) {
                    add("method", "\(quoted(v)) is not an HTTP method (e.g. GET, HEAD)", key: "method")
                }
                c.method = v
            }
            if let v = text("path") {
                if !v.hasPrefix("/") || v.contains(where: { $0.isWhitespace }) {
                    add("path", "\(quoted(v)) must start with \"/\" and contain no spaces", key: "path")
                }
                c.path = v
            }
            c.host = hostName("host")
            c.sni = tls ? hostName("sni") : nil
            if let v = text("expect_status") { c.expectStatus = statuses(v) }
            c.expectBody = freeText("expect_body")
            c.loadHeader = freeText("load_header")
            c.loadJSON = freeText("load_json")
            if tls, let v = text("verify_tls") {
                if v != "true" && v != "false" { add("verify_tls", "expected true or false, got \(quoted(v))", key: "verify_tls") }
                c.verifyTLS = v != "false"
            }
            return c
        }

        mutating func hostName(_ key: String) -> String? {
            guard let v = text(key) else { return nil }
            if v.isEmpty || v.utf8.contains(where: { !(ConfigValidator.isTokenByte($0) || $0 == 0x2e || $0 == 0x3a || $0 == 0x5b || $0 == 0x5d) }) {
                add(key, "\(quoted(v)) is not a host name", key: key)
            }
            return v
        }

        mutating func statuses(_ value: String) -> [ClosedRange<Int>] {
            let json = JSONValue.parse(value)
            let items = if case .array(let a)? = json { a } else { [json ?? .string(value)] }
            if items.isEmpty { add("expect_status", "must list at least one status", key: "expect_status") }
            let range = ConfigValidator.httpStatusRange
            var out: [ClosedRange<Int>] = []
            for (n, item) in items.enumerated() {
                let path = json?.isArray == true ? "expect_status[\(n)]" : "expect_status"
                guard case .number(let t) = item, let s = Int(t) else {
                    add(path, "\(item.compactText) is not an HTTP status (\(range.lowerBound)…\(range.upperBound))", key: "expect_status")
                    continue
                }
                if !range.contains(s) {
                    add(path, "\(s) is not an HTTP status (\(range.lowerBound)…\(range.upperBound))", key: "expect_status")
                }
                out.append(s...s)
            }
            return out
        }

        mutating func dns() -> DNSCheck? {
            // Without `query`: `. SOA`; a plain name asks for A; a map's type defaults to SOA.
            var nameText = "."
            var typeText = "SOA"
            var namePath = "query"
            if let value = text("query") {
                let json = JSONValue.parse(value)
                if case .object(let fields)? = json {
                    var named = false
                    for f in fields {
                        switch (f.key, f.value) {
                        case ("name", .string(let s)): nameText = s; named = true
                        case ("type", .string(let s)): typeText = s
                        case ("name", _), ("type", _): add("query.\(f.key)", "expected a string", key: "query"); named = named || f.key == "name"
                        default: add("query.\(f.key)", "unknown key", key: "query")
                        }
                    }
                    if !named { add("query.name", "required", key: "query") }
                    namePath = "query.name"
                } else if json == nil {
                    nameText = value
                    typeText = "A"
                } else {
                    add("query", "expected a name or {name, type}", key: "query")
                }
            }
            var name: DomainName?
            do {
                name = try DomainName(nameText)
                if !nameText.hasSuffix(".") { add(namePath, "\(quoted(nameText)) must be an absolute name ending with a dot", key: "query") }
            } catch {
                add(namePath, "\(quoted(nameText)) is not a valid DNS name: \(error)", key: "query")
            }
            let type = RecordType(name: typeText)
            if type == nil || type!.isMetaType { add("query.type", "\(quoted(typeText)) is not a record type", key: "query") }
            var check = DNSCheck(name: name ?? .root, type: type ?? .soa)
            if let v = text("expect_rcode") {
                if let code = MonitorCheck.rcodes.first(where: { $0.0 == v.uppercased() })?.1 {
                    check.expectRcode = code
                } else {
                    add("expect_rcode", "\(quoted(v)) is not a response code (\(MonitorCheck.rcodes.map(\.0).joined(separator: ", ")))",
                        key: "expect_rcode")
                }
            }
            if let v = text("expect_address") {
                if let bytes = ConfigValidator.parseAddress(v) {
                    check.expectAddress = bytes
                    check.expectAddressText = v
                } else {
                    add("expect_address", "\(quoted(v)) is not an IP address", key: "expect_address")
                }
            }
            return check
        }

        mutating func command() -> CommandCheck? {
            guard let value = text("command") else {
                add("command", "required for command monitors", key: "command")
                return nil
            }
            let json = JSONValue.parse(value)
            var argv: [String] = []
            if case .array(let a)? = json {
                if a.isEmpty { add("command", "must name a program", key: "command") }
                for (n, item) in a.enumerated() {
                    guard case .string(let s) = item else {
                        add("command[\(n)]", "expected a string, got \(item.compactText)", key: "command")
                        continue
                    }
                    if n == 0 && s.isEmpty { add("command[0]", "must name a program", key: "command") }
                    argv.append(s)
                }
            } else if json != nil {
                add("command", "expected a list of strings (program and arguments)", key: "command")
            } else if value.isEmpty {
                add("command", "must name a program", key: "command")
            } else {
                // A plain string is split at white space.
                argv = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
            }
            return CommandCheck(argv: argv)
        }
    }
}

extension MonitorCheck.HTTPCheck {
    /// The request a probe of `address`:`port` writes: built once per target. With `node` (`--node-name`, printable
    /// without spaces), an `X-Cairn-Node` header says which node probes, for the backend's logs.
    public func request(address: String, port: Int, node: String? = nil) -> [UInt8] {
        // Else the address, bracketed when IPv6, with the port unless it is the scheme's default.
        let bracketed = address.utf8.contains(UInt8(ascii: ":")) ? "[\(address)]" : address
        let host = self.host ?? (port == (tls ? 443 : 80) ? bracketed : "\(bracketed):\(port)")
        var p = path
        if !p.hasPrefix("/") && !p.hasPrefix("*") { p = "/" + p }
        let from = node.map { "X-Cairn-Node: \($0)\r\n" } ?? ""
        return Array("\(method.uppercased()) \(p) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: cairn-health\r\n\(from)Accept: */*\r\nConnection: close\r\n\r\n".utf8)
    }
}
