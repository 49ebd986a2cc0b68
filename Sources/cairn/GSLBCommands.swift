import ArgumentParser
import DNSWire
import Foundation
import GSLBConfigFile
import GSLBCore
import GSLBStore
import GeoIP
import Logging
import ZoneFiles

/// Options shared by the commands that open the store and read the zones directly.
struct StoreOptions: ParsableArguments {
    @Option(help: "The SQLite file (created and migrated when missing) \(StoreFlag.dbHelp).")
    var db: String?

    @Option(help: StoreFlag.help)
    var store: String?

    @Option(help: "Directory of zone files (pools must fall inside these zones) (default: $CAIRN_ZONES, else zones).")
    var zones: String?

    func openStore() throws -> Store { try StoreFlag.open(db: db, store: store) }

    /// Whether the store is there: a PostgreSQL store always is (the server says otherwise); a SQLite store
    /// when its file exists.
    var exists: Bool {
        guard let path = (try? StoreFlag.location(db: db, store: store))?.sqlitePath else { return true }
        return FileManager.default.fileExists(atPath: path)
    }

    /// A snapshot of the static zones only: what the validator checks pools against.
    func zoneSnapshot() throws -> ServingSnapshot {
        let (zs, errors) = ZoneDirectory.load(directory: Environment.zonesDirectory(flag: zones))
        for e in errors { FileHandle.standardError.write("cairn: \(e)\n".data(using: .utf8)!) }
        return try SnapshotBuilder().build(zones: zs)
    }
}

/// The caps on the configuration's size (docs/security.md): what `cairn serve`'s API accepts and what
/// `cairn apply` accepts, with the same flags and defaults.
struct LimitOptions: ParsableArguments {
    @Option(help: "Sites at most.")
    var maxSites: Int = ConfigLimits.defaults.sites

    @Option(help: "Monitors at most.")
    var maxMonitors: Int = ConfigLimits.defaults.monitors

    @Option(help: "Pools at most.")
    var maxPools: Int = ConfigLimits.defaults.pools

    @Option(help: "Members of one pool at most.")
    var maxMembersPerPool: Int = ConfigLimits.defaults.membersPerPool

    @Option(help: "Members of all pools together at most.")
    var maxMembers: Int = ConfigLimits.defaults.members

    @Option(help: "Topology entries at most.")
    var maxTopologyEntries: Int = ConfigLimits.defaults.topologyEntries

    func validate() throws {
        for (flag, v) in [("--max-sites", maxSites), ("--max-monitors", maxMonitors), ("--max-pools", maxPools),
                          ("--max-members-per-pool", maxMembersPerPool), ("--max-members", maxMembers),
                          ("--max-topology-entries", maxTopologyEntries)] where v < 1 {
            throw ValidationError("\(flag): must be at least 1")
        }
    }

    var limits: ConfigLimits {
        ConfigLimits(sites: maxSites, monitors: maxMonitors, pools: maxPools, membersPerPool: maxMembersPerPool,
                     members: maxMembers, topologyEntries: maxTopologyEntries)
    }
}

func principalName() -> String {
    "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? String(getuid()))
}

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a GSLB file whole and apply it to the store in one transaction.",
        discussion: "Nothing is applied if anything is wrong; each error names its place. Objects absent from the file are deleted unless --no-prune.")

    @Option(name: .shortAndLong, help: "The YAML file (sites, pools, monitors, topology).")
    var file: String

    @OptionGroup var store: StoreOptions

    @Flag(inversion: .prefixedNo, help: "Delete objects that the file does not name.")
    var prune = true

    @Flag(help: "Validate, and print what applying would change (create, update with each key old → new, delete; with --prune, deletions that stop answers first); change nothing.")
    var dryRun = false

    @Flag(help: "The change set as JSON (with or without --dry-run).")
    var json = false

    @OptionGroup var limits: LimitOptions

    func run() throws {
        // The file's structure and its meaning (zones, static data) are checked in one pass,
        // so every problem is reported at once.
        let snap = try store.zoneSnapshot()
        let config: GSLBConfig
        switch ConfigFile.load(path: file, zones: snap.origins, staticData: snap.staticTypes(at:), occluded: snap.isOccluded,
                               limits: limits.limits) {
        case .failure(let issues):
            if json {
                print(JSONValue(encoding: Refused(file: file, valid: false,
                                                  errors: issues.map { .init(path: $0.path, message: $0.message) })).compactText)
                throw ExitCode(1)
            }
            for i in issues { print("\(file): \(i)") }
            print("\(issues.count) error(s); nothing applied")
            throw ExitCode(1)
        case .success(let c):
            config = c
        }
        if dryRun {
            // Against the store as it is (an absent SQLite file is an empty store: not created by a dry run).
            var audit: [AuditEntry] = []
            if store.exists {
                audit = try store.openStore().previewConfig(config, prune: prune)
            } else {
                // everything would be created: preview against an empty store in a temporary file
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-dry-run-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: dir) }
                let empty = try Store(location: .sqlite(path: dir.appendingPathComponent("empty.sqlite").path))
                defer { empty.close() }
                audit = try empty.previewConfig(config, prune: prune)
            }
            let changes = ConfigChange.from(audit)
            if json {
                print(JSONValue(encoding: DryRun(file: file, valid: true, changes: changes)).compactText)
                return
            }
            print("\(file): valid (\(config.sites.count) sites, \(config.pools.count) pools, \(config.monitors.count) monitors, \(config.topology.count) topology entries)")
            for c in changes { print(c.text) }
            print(changes.isEmpty ? "no changes" : "\(changes.count) change(s) would be applied (dry run: nothing changed)")
            return
        }
        let db = try store.openStore()
        let changes = try db.replaceConfig(config, principal: principalName(), source: "cairn apply \(file)", prune: prune)
        if json {
            print(JSONValue(encoding: Applied(file: file, applied: true, changes: ConfigChange.from(changes))).compactText)
            return
        }
        for c in changes { print("\(c.action) \(c.object)") }
        print(changes.isEmpty ? "no changes" : "\(changes.count) change(s) applied")
    }
}

/// `cairn apply --dry-run --json`.
struct DryRun: Encodable {
    var file: String
    var valid: Bool
    var changes: [ConfigChange]
}

/// `cairn apply --json` (with or without --dry-run) of a file with errors: every one, each at its place.
struct Refused: Encodable {
    struct Issue: Encodable { var path: String; var message: String }
    var file: String
    var valid: Bool
    var errors: [Issue]
}

/// `cairn apply --json`: what was applied, in the dry run's shape.
struct Applied: Encodable {
    var file: String
    var applied: Bool
    var changes: [ConfigChange]
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the store's GSLB configuration in the `cairn apply` format.")

    @OptionGroup var storeOptions: LocalStoreOptions

    func run() throws {
        print(ConfigFile.encode(try storeOptions.openExisting().exportConfig()), terminator: "")
    }
}

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show why a client gets the answer it gets for a pool name.")

    @Argument(help: "The name asked, e.g. www.example.com.")
    var name: String

    @Option(help: "A, AAAA or CNAME (a CNAME pool is explained for any of them).")
    var type: String = "A"

    @Option(help: "The address the query comes from (the resolver, or the client itself).")
    var client: String = "127.0.0.1"

    @Option(help: "An EDNS Client Subnet, e.g. 203.0.113.0/24.")
    var ecs: String?

    @Flag(help: "JSON instead of text.")
    var json = false

    @Option(help: "The SQLite file: explain from it and the zone files locally instead of asking the API.")
    var db: String?

    @Option(help: "Offline (--db, --zones, --store): the directory of the configuration's GeoIP database, as cairn serve --geoip-dir.")
    var geoipDir: String = "/var/lib/GeoIP"

    @Option(help: "Directory of zone files: explain locally (with --db, default cairn.sqlite).")
    var zones: String?

    @Option(help: ArgumentHelp("Where the store is (sqlite:PATH or postgres://USER@HOST:PORT/DB): explain locally from it.",
                               valueName: "url"))
    var store: String?

    @OptionGroup var api: APIConnectionOptions

    func run() throws {
        guard let c = ClientAddress(text: client) else { throw ValidationError("--client: \"\(client)\" is not an IP address") }
        let subnet = try ecs.map { e in
            guard let s = CIDR(e) else { throw ValidationError("--ecs: \"\(e)\" is not ADDRESS/PREFIX") }
            return CIDR(address: s.address, prefix: s.prefix)   // host bits cleared
        }
        guard let t = RecordType(name: type), t == .a || t == .aaaa || t == .cname else { throw ValidationError("--type: A, AAAA or CNAME") }
        let qname = try DomainName(name.hasSuffix(".") ? name : name + ".")
        // Without --db/--zones the running server explains, with its live health and overrides.
        guard db != nil || zones != nil || store != nil else { return try explainByAPI(name: qname.description, type: t.description) }
        let (zs, _) = ZoneDirectory.load(directory: Environment.zonesDirectory(flag: zones))
        var state = try StoreFlag.open(db: db, store: store, mustExist: true).loadState()
        if let g = state.config.geoip {
            let source = GeoDatabaseSource(directory: geoipDir, logger: Logger(label: "cairn.geoip", factory: { _ in SwiftLogNoOpLogHandler() }))
            state.geo = source.database(for: g)
            if let e = source.lastError { FileHandle.standardError.write(Data("cairn: geoip database not used: \(e)\n".utf8)) }
        }
        let snap = try SnapshotBuilder().build(zones: zs, gslb: state, now: Date().timeIntervalSince1970)
        let ex = snap.explain(name: qname, type: t, client: c, ecs: subnet)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(ex), as: UTF8.self))
        } else {
            print(ex.text, terminator: "")
            if let n = ex.note { print("note: \(n)") }
        }
    }

    /// GET /v1/explain: `--json` prints the API's document as is; text is rendered as the local explain renders it.
    private func explainByAPI(name: String, type: String) throws {
        let r = try api.call(.GET, "/v1/explain", query: [("name", name), ("type", type), ("client", client), ("ecs", ecs)])
        if json { return printRaw(r.body) }
        let plain = JSONDecoder()
        // A server from before 2026-12-05 answers with camelCase keys (`realStale`): read those too.
        let camel = JSONDecoder()
        camel.keyDecodingStrategy = .custom { path in
            let key = path.last!.stringValue
            return AnyCodingKey(key.reduce(into: "") { s, c in s += c.isUppercase ? "_" + c.lowercased() : String(c) })
        }
        guard let ex = (try? plain.decode(Explanation.self, from: r.body)) ?? (try? camel.decode(Explanation.self, from: r.body)) else {
            return printRaw(r.body)
        }
        print(ex.text, terminator: "")
        if let n = ex.note { print("note: \(n)") }
    }
}
