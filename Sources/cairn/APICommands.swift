import ArgumentParser
import GSLBCore

/// The commands that call the admin API (`cairn site|pool|member|...`).
let apiCommands: [any ParsableCommand.Type] = [
    SiteCommand.self, PoolCommand.self, MemberCommand.self, MonitorCommand.self, TopologyCommand.self,
    OverrideCommand.self, DrainCommand.self, HealthCommand.self, NodesCommand.self, AuditCommand.self, ZoneCommand.self,
]

// MARK: - site

struct SiteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "site", abstract: "List and change sites through the admin API.",
        subcommands: [List.self, Show.self, Create.self, Update.self, Delete.self])

    static let order = ["name", "region", "location", "capacity", "load", "version"]

    /// The flags that set a site's keys; an unspecified flag leaves the key as it is.
    struct Fields: ParsableArguments {
        @Option(help: "Region (letters, digits, _ and -).") var region: String?
        @Option(parsing: .unconditional, help: "Latitude, -90...90 (with --lon).") var lat: Double?
        @Option(parsing: .unconditional, help: "Longitude, -180...180 (with --lat).") var lon: Double?
        @Option(help: "Capacity in the operator's unit (least-loaded divides load by it).") var capacity: Double?
        @Option(help: "Current load, in the unit of capacity.") var load: Double?

        func apply(to o: inout [String: JSONValue]) throws {
            if let region { o["region"] = region.isEmpty ? nil : .string(region) }
            if lat != nil || lon != nil {
                var loc = o["location"]?.dictionary ?? [:]
                if let lat { loc["lat"] = .double(lat) }
                if let lon { loc["lon"] = .double(lon) }
                guard loc["lat"] != nil, loc["lon"] != nil else { throw ValidationError("--lat and --lon go together") }
                o["location"] = JSONValue(loc)
            }
            if let capacity { o["capacity"] = .double(capacity) }
            if let load { o["load"] = .double(load) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the sites.")
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.GET, "/v1/sites")) { v in
                printTable(["name", "region", "lat", "lon", "capacity", "load", "version"], (v["sites"]?.array ?? []).map { s in
                    [s["name"].text, s["region"].text, s["location"]?["lat"].text ?? "-", s["location"]?["lon"].text ?? "-",
                     s["capacity"].text, s["load"].text, s["version"].text]
                })
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one site.")
        @Argument var name: String
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.GET, apiPath("sites", name))) { printObject($0, order: SiteCommand.order) }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a site.")
        @Argument(help: "The site's name (or give the whole object with -f/--data).") var name: String?
        @OptionGroup var fields: Fields
        @OptionGroup var body: BodyOptions
        @OptionGroup var options: APIOptions
        func run() throws {
            var o = try body.object() ?? [:]
            if let name { o["name"] = .string(name) }
            guard o["name"] != nil else { throw ValidationError("give the site's NAME") }
            try fields.apply(to: &o)
            try options.output(try options.call(.POST, "/v1/sites", body: JSONValue(o).encoded())) {
                printObject($0, order: SiteCommand.order)
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a site's keys; the others keep their values.",
            discussion: "Reads the site, changes the given keys and writes it back with If-Match, so a concurrent change is refused (412), not lost.")
        @Argument var name: String
        @OptionGroup var fields: Fields
        @OptionGroup var options: APIOptions
        func run() throws {
            let r = try options.readModifyWrite(apiPath("sites", name)) { try fields.apply(to: &$0) }
            try options.output(r) { printObject($0, order: SiteCommand.order) }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a site (refused while members or topology use it).")
        @Argument var name: String
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.DELETE, apiPath("sites", name))) { _ in print("deleted site \(name)") }
        }
    }
}

// MARK: - pool

struct PoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool", abstract: "List and change pools through the admin API.",
        subcommands: [List.self, Show.self, Create.self, Update.self, Delete.self])

    static let order = ["name", "type", "policy", "ttl", "answers", "ecs", "fallback", "monitor", "rto", "version"]

    /// A pool's keys, then its members as a table.
    static func show(_ v: JSONValue) {
        printObject(v, order: order, skip: ["members"])
        print("members:")
        MemberCommand.table(v["members"]?.array ?? [])
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the pools.")
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.GET, "/v1/pools")) { v in
                let rows = (v["pools"]?.array ?? []).map { p in
                    [p["name"].text, p["type"].text, p["policy"].text, p["ttl"].text, p["answers"].text, p["ecs"].text,
                     p["fallback"].text, p["monitor"].text, String(p["members"]?.array.count ?? 0), p["version"].text]
                }
                printTable(["name", "type", "policy", "ttl", "answers", "ecs", "fallback", "monitor", "members", "version"], rows)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one pool and its members.")
        @Argument var name: String
        @Option(help: "A, AAAA or CNAME (needed when both A and AAAA exist).") var type: String?
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.GET, apiPath("pools", name), query: [("type", type)]), human: PoolCommand.show)
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a pool from a JSON object (keys of docs/config-file.md, members included).",
            discussion: #"Example: cairn pool create --data '{"name":"www.example.com.","type":"A","policy":"weighted","members":[{"site":"fra","address":"192.0.2.10"}]}'"#)
        @OptionGroup var body: BodyOptions
        @OptionGroup var options: APIOptions
        func run() throws {
            guard let o = try body.object() else { throw ValidationError("give the pool with -f FILE or --data JSON") }
            try options.output(try options.call(.POST, "/v1/pools", body: JSONValue(o).encoded()), human: PoolCommand.show)
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a pool's keys; the others (and the members) keep their values.",
            discussion: "Reads the pool, changes the given keys and writes it back with If-Match. An empty --monitor or --rto removes it.")
        @Argument var name: String
        @Option(help: "A, AAAA or CNAME (needed when both A and AAAA exist).") var type: String?
        @Option(help: "failover, weighted, round-robin, least-loaded, closest, all-healthy, consistent-hash.") var policy: String?
        @Option(help: "TTL in seconds, 1...86400.") var ttl: Int?
        @Option(help: "The most addresses in one answer, 1...16.") var answers: Int?
        @Option(help: "Use the EDNS Client Subnet: true or false.") var ecs: Bool?
        @Option(help: "all, none, servfail or pool:NAME.") var fallback: String?
        @Option(help: "The pool's monitor (empty: none).") var monitor: String?
        @Option(help: "Recovery-time objective, e.g. 5s (empty: none).") var rto: String?
        @OptionGroup var options: APIOptions
        func run() throws {
            let r = try options.readModifyWrite(apiPath("pools", name), query: [("type", type)]) { o in
                // Members are left out: the API keeps the current ones (they have versions of their own).
                o["members"] = nil
                if let policy { o["policy"] = .string(policy) }
                if let ttl { o["ttl"] = .int(ttl) }
                if let answers { o["answers"] = .int(answers) }
                if let ecs { o["ecs"] = .bool(ecs) }
                if let fallback { o["fallback"] = .string(fallback) }
                if let monitor { o["monitor"] = monitor.isEmpty ? nil : .string(monitor) }
                if let rto { o["rto"] = rto.isEmpty ? nil : .string(rto) }
            }
            try options.output(r, human: PoolCommand.show)
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a pool and its members.")
        @Argument var name: String
        @Option(help: "A, AAAA or CNAME (needed when both A and AAAA exist).") var type: String?
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.DELETE, apiPath("pools", name), query: [("type", type)])) { _ in
                print("deleted pool \(name)\(type.map { " \($0)" } ?? "")")
            }
        }
    }
}

// MARK: - member

struct MemberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member", abstract: "List and change the members of a pool through the admin API.",
        subcommands: [List.self, Add.self, Update.self, Remove.self])

    static let order = ["site", "address", "weight", "priority", "state", "monitor", "probe", "load", "version"]

    static func table(_ members: [JSONValue]) {
        printTable(["site", "address", "weight", "priority", "state", "monitor", "probe", "load"], members.map { m in
            var probe = "-"
            if let p = m["probe"], !p.isNull {
                probe = (p["address"]?.string ?? "") + (p["port"].map { ":\($0.text)" } ?? "")
            }
            // A CNAME pool's member has a `target` name where the others have an `address`.
            let address = m["address"].flatMap { $0.isNull ? nil : $0 } ?? m["target"]
            return [m["site"].text, address.text, m["weight"].text, m["priority"].text, m["state"]?.text ?? "enabled",
                    m["monitor"].text, probe, m["load"].text]
        })
    }

    /// The flags that set a member's keys; an unspecified flag leaves the key as it is.
    struct Fields: ParsableArguments {
        @Option(help: "0...65535 (0: answered only in fallback).") var weight: Int?
        @Option(help: "0...255; failover uses the lowest group first.") var priority: Int?
        @Option(help: "enabled, drain or disabled.") var state: String?
        @Option(help: "The member's own monitor (empty: the pool's).") var monitor: String?
        @Option(help: "Probe this address instead of the answered one.") var probeAddress: String?
        @Option(help: "Probe this port.") var probePort: Int?

        func apply(to o: inout [String: JSONValue]) {
            if let weight { o["weight"] = .int(weight) }
            if let priority { o["priority"] = .int(priority) }
            if let state { o["state"] = .string(state) }
            if let monitor { o["monitor"] = monitor.isEmpty ? nil : .string(monitor) }
            if probeAddress != nil || probePort != nil {
                var p = o["probe"]?.dictionary ?? [:]
                if let probeAddress { p["address"] = probeAddress.isEmpty ? nil : .string(probeAddress) }
                if let probePort { p["port"] = probePort == 0 ? nil : .int(probePort) }
                o["probe"] = p.isEmpty ? nil : JSONValue(p)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a pool's members.")
        @Argument var pool: String
        @Option(help: "A, AAAA or CNAME (needed when both A and AAAA exist).") var type: String?
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.GET, apiPath("pools", pool, "members"), query: [("type", type)])) { v in
                MemberCommand.table(v["members"]?.array ?? [])
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Add a member to a pool.", aliases: ["add"])
        @Argument var pool: String
        @Option(help: "A, AAAA or CNAME (needed when both A and AAAA exist).") var type: String?
        @Option(help: "The member's site.") var site: String?
        @Option(help: "The answered address (IPv4 in an A pool, IPv6 in an AAAA pool).") var address: String?
        @Option(help: "The answered target name (a CNAME pool).") var target: String?
        @Option(help: "Load, in the unit of the site's capacity.") var load: Double?
        @OptionGroup var fields: Fields
        @OptionGroup var body: BodyOptions
        @OptionGroup var options: APIOptions
        func run() throws {
            var o = try body.object() ?? [:]
            if let site { o["site"] = .string(site) }
            if let address { o["address"] = .string(address) }
            if let target { o["target"] = .string(target) }
            guard o["site"] != nil, o["address"] != nil || o["target"] != nil else {
                throw ValidationError("give --site and --address (--target in a CNAME pool)")
            }
            fields.apply(to: &o)
            if let load { o["load"] = .double(load) }
            let r = try options.call(.POST, apiPath("pools", pool, "members"), query: [("type", type)], body: JSONValue(o).encoded())
            try options.output(r) { printObject($0, order: MemberCommand.order) }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a member's keys; the others keep their values.",
            discussion: "Reads the member, changes the given keys and writes it back with If-Match.")
        @Argument var pool: String
        @Argument var address: String
        @Option(help: "A, AAAA or CNAME (needed when both A and AAAA exist).") var type: String?
        @Option(help: "Move the member to this site.") var site: String?
        @Option(help: "Load, in the unit of the site's capacity (negative: none).") var load: Double?
        @OptionGroup var fields: Fields
        @OptionGroup var options: APIOptions
        func run() throws {
            let r = try options.readModifyWrite(apiPath("pools", pool, "members", address), query: [("type", type)]) { o in
                if let site { o["site"] = .string(site) }
                fields.apply(to: &o)
                if let load { o["load"] = load < 0 ? nil : .double(load) }
            }
            try options.output(r) { printObject($0, order: MemberCommand.order) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Remove a member from a pool (not the last one).", aliases: ["remove"])
        @Argument var pool: String
        @Argument var address: String
        @Option(help: "A, AAAA or CNAME (needed when both A and AAAA exist).") var type: String?
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.DELETE, apiPath("pools", pool, "members", address), query: [("type", type)])) { _ in
                print("removed \(address) from \(pool)")
            }
        }
    }
}

// MARK: - monitor

struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor", abstract: "List and change health monitors through the admin API.",
        subcommands: [List.self, Show.self, Create.self, Update.self, Delete.self])

    static let fixed = ["name", "type", "port", "interval", "timeout", "rise", "fall", "version"]

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the monitors.")
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.GET, "/v1/monitors")) { v in
                let rows = (v["monitors"]?.array ?? []).map { m -> [String] in
                    let o = m.dictionary ?? [:]
                    let extra = o.keys.filter { !MonitorCommand.fixed.contains($0) && o[$0] != .null }.sorted()
                    let opts = extra.isEmpty ? "-" : extra.map { "\($0)=\(o[$0]!.text)" }.joined(separator: " ")
                    return [m["name"].text, m["type"].text, m["port"].text, m["interval"].text, m["timeout"].text,
                            m["rise"].text, m["fall"].text, m["version"].text, opts]
                }
                printTable(["name", "type", "port", "interval", "timeout", "rise", "fall", "version", "options"], rows)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one monitor.")
        @Argument var name: String
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.GET, apiPath("monitors", name))) { printObject($0, order: MonitorCommand.fixed) }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a monitor from a JSON object (keys of docs/config-file.md).",
            discussion: #"Example: cairn monitor create --data '{"name":"web","type":"http","port":80,"path":"/healthz"}'"#)
        @OptionGroup var body: BodyOptions
        @OptionGroup var options: APIOptions
        func run() throws {
            guard let o = try body.object() else { throw ValidationError("give the monitor with -f FILE or --data JSON") }
            try options.output(try options.call(.POST, "/v1/monitors", body: JSONValue(o).encoded())) {
                printObject($0, order: MonitorCommand.fixed)
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a monitor with a JSON object; the version read is sent as If-Match.")
        @Argument var name: String
        @OptionGroup var body: BodyOptions
        @OptionGroup var options: APIOptions
        func run() throws {
            guard let new = try body.object() else { throw ValidationError("give the monitor with -f FILE or --data JSON") }
            let r = try options.readModifyWrite(apiPath("monitors", name)) { o in
                o = new
                if o["name"] == nil { o["name"] = .string(name) }
            }
            try options.output(r) { printObject($0, order: MonitorCommand.fixed) }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a monitor (refused while a pool or member uses it).")
        @Argument var name: String
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.DELETE, apiPath("monitors", name))) { _ in print("deleted monitor \(name)") }
        }
    }
}

// MARK: - topology

struct TopologyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology", abstract: "Map client networks to places through the admin API.",
        subcommands: [List.self, Add.self, Remove.self])

    static func target(_ e: JSONValue) -> String {
        if let s = e["site"], !s.isNull { return "site \(s.text)" }
        if let r = e["region"], !r.isNull { return "region \(r.text)" }
        if let l = e["location"], !l.isNull { return "location \(l["lat"].text),\(l["lon"].text)" }
        return "-"
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the topology table.")
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.GET, "/v1/topology")) { v in
                printTable(["network", "target"], (v["topology"]?.array ?? []).map { [$0["network"].text, TopologyCommand.target($0)] })
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Map a network to a region, a site or a location (one of them).",
                                                        aliases: ["add"])
        @Argument(help: "ADDRESS/PREFIX, host bits zero.") var network: String
        @Option(help: "A region some site has.") var region: String?
        @Option(help: "A site.") var site: String?
        @Option(parsing: .unconditional, help: "Latitude (with --lon).") var lat: Double?
        @Option(parsing: .unconditional, help: "Longitude (with --lat).") var lon: Double?
        @OptionGroup var options: APIOptions

        func validate() throws {
            let n = [region != nil, site != nil, lat != nil || lon != nil].filter { $0 }.count
            guard n == 1 else { throw ValidationError("give exactly one of --region, --site, --lat/--lon") }
            if (lat == nil) != (lon == nil) { throw ValidationError("--lat and --lon go together") }
        }

        func run() throws {
            var o: [String: JSONValue] = ["network": .string(network)]
            if let region { o["region"] = .string(region) }
            if let site { o["site"] = .string(site) }
            if let lat, let lon { o["location"] = JSONValue(["lat": .double(lat), "lon": .double(lon)]) }
            try options.output(try options.call(.POST, "/v1/topology", body: JSONValue(o).encoded())) { v in
                print("\(v["network"].text) → \(TopologyCommand.target(v))")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Remove a network from the topology table.", aliases: ["remove"])
        @Argument var network: String
        @OptionGroup var options: APIOptions
        func run() throws {
            try options.output(try options.call(.DELETE, "/v1/topology", query: [("network", network)])) { _ in
                print("removed \(network)")
            }
        }
    }
}
