import Foundation
import GSLBConfigFile
import GSLBCore
import SnapshotService

// The `/v1` resources. Bodies are JSON objects with the keys of docs/config-file.md; they are
// decoded by the codec of `cairn apply` files (the objects' `Codable` conformances over the JSON
// value), so every type error names its key, then what the write changed (and what refers to it)
// is validated against the served zones.

/// `/v1/sites`, `/v1/monitors`, `/v1/pools` (and their members), `/v1/topology`: the configuration,
/// object by object, each write in one transaction with its audit row and in the answers before the reply.
struct ConfigController: AdminController {
    typealias Call = AdminAPI.Call
    typealias Reply = AdminAPI.Reply
    let repo: any ConfigWriteRepository
    let publisher: SnapshotPublisher
    let configuration: AdminAPIConfiguration

    func addRoutes(to routes: AdminRoutes) {
        routes.on(.get, "/v1/sites", .read) { c in try list(Self.sites, c) }
        routes.on(.post, "/v1/sites", .write) { c in try await create(Self.sites, c) }
        routes.on(.get, "/v1/sites/:name", .read) { c in try get(Self.sites, c) }
        routes.on(.put, "/v1/sites/:name", .write) { c in try await put(Self.sites, c) }
        routes.on(.delete, "/v1/sites/:name", .write) { c in try await delete(Self.sites, c) }

        routes.on(.get, "/v1/pools", .read) { _ in try listPools() }
        routes.on(.post, "/v1/pools", .write) { c in try await createPool(c) }
        routes.on(.get, "/v1/pools/:name", .read) { c in try getPool(c) }
        routes.on(.put, "/v1/pools/:name", .write) { c in try await putPool(c) }
        routes.on(.delete, "/v1/pools/:name", .write) { c in try await deletePool(c) }
        routes.on(.get, "/v1/pools/:name/members", .read) { c in try listMembers(c) }
        routes.on(.post, "/v1/pools/:name/members", .write) { c in try await createMember(c) }
        routes.on(.get, "/v1/pools/:name/members/:address", .read) { c in try getMember(c) }
        routes.on(.put, "/v1/pools/:name/members/:address", .write) { c in try await putMember(c) }
        routes.on(.delete, "/v1/pools/:name/members/:address", .write) { c in try await deleteMember(c) }

        routes.on(.get, "/v1/monitors", .read) { c in try list(Self.monitors, c) }
        routes.on(.post, "/v1/monitors", .write) { c in try await create(Self.monitors, c) }
        routes.on(.get, "/v1/monitors/:name", .read) { c in try get(Self.monitors, c) }
        routes.on(.put, "/v1/monitors/:name", .write) { c in try await put(Self.monitors, c) }
        routes.on(.delete, "/v1/monitors/:name", .write) { c in try await delete(Self.monitors, c) }

        routes.on(.post, "/v1/config/preview", .write) { c in try await previewConfig(c) }

        routes.on(.get, "/v1/topology", .read) { _ in try topologyReply() }
        routes.on(.put, "/v1/topology", .write) { c in try await putTopology(c) }
        routes.on(.post, "/v1/topology", .write) { c in try await createTopology(c) }
        routes.on(.delete, "/v1/topology", .write) { c in try await deleteTopology(c) }
    }

    // MARK: - Bodies

    static func object(_ value: Any, _ what: String) throws -> [String: Any] {
        guard let d = value as? [String: Any] else { throw APIError.invalid("body", "expected a JSON object (\(what))") }
        return d
    }

    /// Decodes one object with the reader of `cairn apply` files, straight from the JSON value: the
    /// first problem's path is the field (`members[1].address`; none for the body as a whole).
    func decode<T: Decodable>(_ type: T.Type, _ dict: [String: Any]) throws -> T {
        // `version` is read-only (it travels in If-Match): what a GET returned can be PUT back.
        var d = dict
        d.removeValue(forKey: "version")
        for list in ["members", "topology"] {
            guard let items = d[list] as? [Any] else { continue }
            d[list] = items.map { m -> Any in
                guard var o = m as? [String: Any] else { return m }
                o.removeValue(forKey: "version")
                return o
            }
        }
        return try ConfigFile.decode(type, json: d).mapError(APIError.invalid).get()
    }

    /// A key of a PUT body that the path fixes (a name, a pool's type, a member's address): the body may leave it
    /// out, or give a string that `matches`; else 422 on that key with `mismatch`. Then it is the path's `value`.
    static func pin(_ d: inout [String: Any], _ key: String, to value: String, _ mismatch: String,
                    matches: (String) -> Bool) throws {
        if let given = d[key], !((given as? String).map(matches) ?? false) { throw APIError.invalid(key, mismatch) }
        d[key] = value
    }

    /// The version `If-Match` names for `object`, as a write expects it; none when there is none or it is `*`
    /// (RFC 9110: any current version, i.e. the object must exist, which every write that takes a version checks
    /// anyway). With `--api-require-if-match` a write without one is refused with 428 (RFC 6585).
    func ifMatch(_ c: Call, _ object: String) throws -> [String: Int64] {
        guard let raw = c.request.headers[.ifMatch] else {
            if configuration.requireIfMatch {
                throw APIError(.preconditionRequired, "precondition-required", field: "If-Match",
                               "this server requires If-Match on writes to existing objects: GET the object and send its ETag (or \"*\")")
            }
            return [:]
        }
        var t = raw.trimmingCharacters(in: .whitespaces)
        if t == "*" { return [:] }
        if t.hasPrefix("W/") { t.removeFirst(2) }
        t = t.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard let v = Int64(t), v >= 0 else { throw APIError.badRequest("If-Match", "expected an object version such as \"3\"") }
        return [object: v]
    }

    // MARK: - Preview

    /// `POST /v1/config/preview[?prune=false]`: a whole configuration (the `cairn apply` file as JSON), checked as
    /// `cairn apply` checks it, and the changes applying it would make (`cairn apply --dry-run`). Nothing changes.
    func previewConfig(_ c: Call) async throws -> Reply {
        let prune = switch c.query("prune") {
        case nil, "true": true
        case "false": false
        case let other?: throw APIError.badRequest("prune", "expected true or false, not \(other)")
        }
        let data = try await c.readJSONData()
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
            throw APIError.badRequest("body", "expected a JSON object: the configuration as in a cairn apply file")
        }
        let snap = publisher.box.load()
        // JSON is YAML: the file reader reads the body, so keys, defaults, limits and messages are the file's.
        switch ConfigFile.decode(yaml: String(decoding: data, as: UTF8.self), zones: snap.origins,
                                 staticData: snap.staticTypes(at:), occluded: snap.isOccluded, limits: configuration.limits) {
        case .failure(let issues):
            let first = issues[0]
            throw APIError.invalid(first.path.isEmpty ? nil : first.path,
                                   issues.count == 1 ? first.message : "\(first.message) (and \(issues.count - 1) more problem(s))")
        case .success(let config):
            let changes = ConfigChange.from(try repo.previewConfig(config, prune: prune))
            return .ok(ConfigPreview(valid: true, prune: prune, changes: changes))
        }
    }

    struct ConfigPreview: Encodable {
        var valid: Bool
        var prune: Bool
        var changes: [ConfigChange]
    }

    // MARK: - Writing

    /// What a write's change is validated as: the object it added or changed, at its path in the config (an
    /// issue's field is then named relative to it; "" for the config as a whole), or a deletion (an issue means
    /// the object is still in use); `unchecked` for a change that cannot break a reference.
    enum Focus: Sendable { case object(String), deletion, unchecked }

    /// Validates what the write changed (the objects it added, changed or removed, and what refers to
    /// them) against the served zones; issues that those objects already had in the stored config
    /// are not the request's fault and are ignored. Size is checked by `withinLimits` (growth only).
    func validate(_ config: GSLBConfig, before: GSLBConfig, focus: Focus) throws {
        if case .unchecked = focus { return }
        let snap = publisher.box.load()
        let new = ConfigValidator.newIssues(before: before, after: config, zones: snap.origins,
                                            staticData: snap.staticTypes(at:), occluded: snap.isOccluded)
        guard let first = new.first else { return }
        guard case .object(let path) = focus else {
            throw APIError.conflict(nil, "still in use: \(first)")
        }
        // The field relative to the object: `members[1].address` of `pools[0].members[1].address`.
        let relative = first.path.hasPrefix(path + ".") ? String(first.path.dropFirst(path.count + 1)) : nil
        throw APIError.invalid(relative ?? (first.path.isEmpty ? nil : first.path), first.message)
    }

    /// One transaction: version check, change, validation of what `body` says it changed, audit. Then the snapshot is
    /// refreshed so the DNS answers reflect the write before the response goes out. Returns the config and
    /// versions as the write left them, read inside its transaction: the ETag of the response is the version
    /// this write made, even when another writer follows at once.
    ///
    /// The write runs on `writeQueue`, not on the cooperative thread pool that serves every request: a large
    /// validation or a slow disk delays other writes, never `/healthz` or a read.
    @discardableResult
    func write(_ c: Call, expected: [String: Int64],
               _ body: @escaping @Sendable (inout GSLBConfig) throws -> Focus) async throws -> State {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<State, any Error>) in
            Self.writeQueue.async {
                cont.resume(with: Result {
                    let done = try self.repo.modifyConfig(principal: c.principal, source: c.context.remote, requestID: c.requestID,
                                                          expectedVersions: expected) { config in
                        let before = config
                        let focus = try body(&config)
                        try self.validate(config, before: before, focus: focus)
                        try self.withinLimits(before: before, after: config)
                        try self.mayRunCommands(c, before: before, after: config)
                    }
                    self.publisher.refreshIfChanged()
                    return (done.config, done.versions)
                })
            }
        }
    }

    /// Where config writes run, one at a time (SQLite takes one writer at a time anyway).
    static let writeQueue = DispatchQueue(label: "cairn.admin.write")

    /// Refuses (422) a write that grows a collection past its cap (`--max-pools` ...; docs/security.md).
    func withinLimits(before: GSLBConfig, after: GSLBConfig) throws {
        guard let issue = configuration.limits.growthIssue(before: before, after: after) else { return }
        throw APIError.invalid(issue.path.hasSuffix(".members") ? "members" : issue.path, issue.message)
    }

    /// Refuses (422) a body whose `members` list is longer than a pool may be, before it is decoded.
    func checkMemberCount(_ d: [String: Any]) throws {
        if let members = d["members"] as? [Any], members.count > configuration.limits.membersPerPool {
            let issue = ConfigLimits.membersIssue(path: "members", count: members.count, limit: configuration.limits.membersPerPool)
            throw APIError.invalid("members", issue.message)
        }
    }

    /// The config and every object's version, as one read (or one write) saw them.
    typealias State = (config: GSLBConfig, versions: [String: Int64])

    /// Refuses (403) a write after which the server would run a program it would not have run before: a `command`
    /// monitor created or changed, or attached to a new target. That needs `--allow-command-monitors` at start
    /// and an `admin` token; nothing a `write` token does runs a program (docs/security.md).
    func mayRunCommands(_ c: Call, before: GSLBConfig, after: GSLBConfig) throws {
        let newMonitors = after.commandMonitors.subtracting(before.commandMonitors)
        let newRuns = after.commandProbes.subtracting(before.commandProbes)
        guard !newMonitors.isEmpty || !newRuns.isEmpty else { return }
        let field = newMonitors.isEmpty ? "monitor" : "type"
        let what = newMonitors.first.map { "command monitor \($0.name)" }
            ?? newRuns.first.map { "command monitor \($0.monitor.name) on \($0.address) (pool \($0.pool))" } ?? ""
        guard configuration.allowCommandMonitors else {
            throw APIError(.forbidden, "forbidden", field: field,
                           "\(what) would run a program; command monitors are off (an operator starts cairn serve with --allow-command-monitors to allow them, for admin tokens)")
        }
        guard c.isAdmin else {
            throw APIError(.forbidden, "forbidden", field: field,
                           "\(what) would run a program; only an admin token may create, change or attach command monitors")
        }
    }

    func current() throws -> State {
        (try repo.exportConfig(), try repo.objectVersions())
    }

    // MARK: - Sites and monitors: objects named by one key

    /// A collection of the config whose objects are named by a string key (sites, monitors).
    struct Named<T: Sendable & Codable>: Sendable {
        let kind: String
        let section: String
        let items: WritableKeyPath<GSLBConfig, [T]> & Sendable
        let name: @Sendable (T) -> String
        let key: @Sendable (String) -> String
        /// The object, its version, and whether the caller is admin (who alone sees command monitors' argv).
        let encode: @Sendable (T, Int64?, Bool) -> Versioned<T>
    }

    static let sites = Named<Site>(kind: "site", section: "sites", items: \.sites, name: \.name, key: ObjectName.site,
                                   encode: { s, v, _ in versioned(s, v) })
    static let monitors = Named<Monitor>(kind: "monitor", section: "monitors", items: \.monitors, name: \.name,
                                         key: ObjectName.monitor, encode: { m, v, admin in Encode.monitor(m, version: v, showCommand: admin) })

    func list<T>(_ r: Named<T>, _ c: Call) throws -> Reply {
        let (config, v) = try current()
        return .ok([r.section: config[keyPath: r.items].map { r.encode($0, v[r.key(r.name($0))], c.isAdmin) }])
    }

    func reply<T>(_ r: Named<T>, _ name: String, _ c: Call, created: Bool = false, state: State? = nil) throws -> Reply {
        let (config, v) = try state ?? current()
        guard let o = config[keyPath: r.items].first(where: { r.name($0) == name }) else {
            throw APIError.notFound("no \(r.kind) \(name)")
        }
        let version = v[r.key(name)]
        return Reply(status: created ? .created : .ok, json: jsonText(r.encode(o, version, c.isAdmin)), etag: version)
    }

    func get<T>(_ r: Named<T>, _ c: Call) throws -> Reply { try reply(r, c.param("name"), c) }

    /// The body as one object; with `name` (PUT) the body's name may be left out but must match.
    func decode<T>(_ r: Named<T>, _ c: Call, name: String?) async throws -> T {
        var d = try Self.object(try await c.readJSON(), "a \(r.kind)")
        if let name { try Self.pin(&d, "name", to: name, "does not match the name in the path (\(name))") { $0 == name } }
        return try decode(T.self, d)
    }

    func create<T>(_ r: Named<T>, _ c: Call) async throws -> Reply {
        let o = try await decode(r, c, name: nil)
        let name = r.name(o)
        let state = try await write(c, expected: [:]) { config in
            if config[keyPath: r.items].contains(where: { r.name($0) == name }) {
                throw APIError.conflict("name", "\(r.kind) \(name) already exists")
            }
            config[keyPath: r.items].append(o)
            return .object("\(r.section)[\(config[keyPath: r.items].count - 1)]")
        }
        return try reply(r, name, c, created: true, state: state)
    }

    func put<T>(_ r: Named<T>, _ c: Call) async throws -> Reply {
        let name = c.param("name")
        let o = try await decode(r, c, name: name)
        let state = try await write(c, expected: try ifMatch(c, r.key(name))) { config in
            guard let i = config[keyPath: r.items].firstIndex(where: { r.name($0) == name }) else {
                throw APIError.notFound("no \(r.kind) \(name)")
            }
            config[keyPath: r.items][i] = o
            return .object("\(r.section)[\(i)]")
        }
        return try reply(r, name, c, state: state)
    }

    func delete<T>(_ r: Named<T>, _ c: Call) async throws -> Reply {
        let name = c.param("name")
        try await write(c, expected: try ifMatch(c, r.key(name))) { config in
            guard let i = config[keyPath: r.items].firstIndex(where: { r.name($0) == name }) else {
                throw APIError.notFound("no \(r.kind) \(name)")
            }
            config[keyPath: r.items].remove(at: i)
            return .deletion
        }
        return .noContent
    }

    // MARK: - Pools

    /// The index of the pool named in the path (`type` from the query when both A and AAAA exist).
    func poolIndex(_ config: GSLBConfig, _ c: Call, address: String? = nil) throws -> Int {
        let name = ConfigValidator.Scope.poolKey(c.param("name"))
        var matches = config.pools.indices.filter { config.pools[$0].name.lowercased() == name }
        if let t = c.query("type") {
            let type = t.uppercased()
            guard type == "A" || type == "AAAA" || type == "CNAME" else { throw APIError.badRequest("type", "expected A, AAAA or CNAME") }
            matches = matches.filter { config.pools[$0].type == type }
        }
        guard !matches.isEmpty else { throw APIError.notFound("no pool \(name)\(c.query("type").map { " of type \($0.uppercased())" } ?? "")") }
        // A member's address says which: IPv4 is in the A pool, IPv6 in the AAAA pool.
        if matches.count > 1, let a = address ?? (c.context.parameters.get("address").map { _ in c.param("address") }),
           let family = ClientAddress(text: a)?.family {
            let type = family == 4 ? "A" : "AAAA"
            matches = matches.filter { config.pools[$0].type == type }
        }
        guard matches.count == 1 else {
            throw APIError.badRequest("type", "\(name) has an A and an AAAA pool; say which with ?type=")
        }
        return matches[0]
    }

    func listPools() throws -> Reply {
        let (config, v) = try current()
        return .ok(["pools": config.pools.map { Encode.pool($0, versions: v) }])
    }

    func poolReply(name: String, type: String, created: Bool = false, state: State? = nil) throws -> Reply {
        let (config, v) = try state ?? current()
        guard let p = config.pools.first(where: { $0.name.lowercased() == name.lowercased() && $0.type == type }) else {
            throw APIError.notFound("no pool \(name) of type \(type)")
        }
        let version = v[ObjectName.pool(p.name, p.type)]
        return Reply(status: created ? .created : .ok, json: jsonText(Encode.pool(p, versions: v)), etag: version)
    }

    func getPool(_ c: Call) throws -> Reply {
        let (config, v) = try current()
        let p = config.pools[try poolIndex(config, c)]
        return .ok(Encode.pool(p, versions: v), etag: v[ObjectName.pool(p.name, p.type)])
    }

    func createPool(_ c: Call) async throws -> Reply {
        let body = try Self.object(try await c.readJSON(), "a pool")
        try checkMemberCount(body)
        let pool = try decode(Pool.self, body)
        let state = try await write(c, expected: [:]) { config in
            if config.pools.contains(where: { $0.name.lowercased() == pool.name.lowercased() && $0.type == pool.type }) {
                throw APIError.conflict("name", "pool \(pool.name) of type \(pool.type) already exists")
            }
            config.pools.append(pool)
            return .object("pools[\(config.pools.count - 1)]")
        }
        return try poolReply(name: pool.name, type: pool.type, created: true, state: state)
    }

    func putPool(_ c: Call) async throws -> Reply {
        var d = try Self.object(try await c.readJSON(), "a pool")
        let (snapshotConfig, _) = try current()
        let existing = snapshotConfig.pools[try poolIndex(snapshotConfig, c)]
        try Self.pin(&d, "name", to: existing.name, "does not match the name in the path (\(existing.name))") {
            ConfigValidator.Scope.poolKey($0) == existing.name.lowercased()
        }
        try Self.pin(&d, "type", to: existing.type, "the type of a pool cannot change (it is \(existing.type))") {
            $0.uppercased() == existing.type
        }
        // Without `members` the members stay as they are, taken inside the write's transaction (a member
        // written meanwhile through /members is kept).
        let keepMembers = d["members"] == nil
        if keepMembers { d["members"] = [Any]() }
        try checkMemberCount(d)
        let decoded = try decode(Pool.self, d)
        let state = try await write(c, expected: try ifMatch(c, ObjectName.pool(existing.name, existing.type))) { config in
            guard let i = config.pools.firstIndex(where: { $0.name == existing.name && $0.type == existing.type }) else {
                throw APIError.notFound("no pool \(existing.name)")
            }
            var pool = decoded
            if keepMembers { pool.members = config.pools[i].members }
            config.pools[i] = pool
            return .object("pools[\(i)]")
        }
        return try poolReply(name: existing.name, type: existing.type, state: state)
    }

    func deletePool(_ c: Call) async throws -> Reply {
        let (snapshotConfig, _) = try current()
        let existing = snapshotConfig.pools[try poolIndex(snapshotConfig, c)]
        try await write(c, expected: try ifMatch(c, ObjectName.pool(existing.name, existing.type))) { config in
            guard let i = config.pools.firstIndex(where: { $0.name == existing.name && $0.type == existing.type }) else {
                throw APIError.notFound("no pool \(existing.name)")
            }
            config.pools.remove(at: i)
            return .deletion
        }
        return .noContent
    }

    // MARK: - Members

    func listMembers(_ c: Call) throws -> Reply {
        let (config, v) = try current()
        let p = config.pools[try poolIndex(config, c)]
        return .ok(["members": p.members.map { versioned($0, v[ObjectName.member(p.name, p.type, $0.address)]) }],
                   etag: v[ObjectName.pool(p.name, p.type)])
    }

    func memberReply(pool name: String, type: String, address: String, created: Bool = false,
                     state: State? = nil) throws -> Reply {
        let (config, v) = try state ?? current()
        guard let p = config.pools.first(where: { $0.name == name && $0.type == type }),
              let m = p.members.first(where: { Member.sameIdentity($0.address, address) }) else {
            throw APIError.notFound("no member \(address) in \(name)")
        }
        let version = v[ObjectName.member(p.name, p.type, m.address)]
        return Reply(status: created ? .created : .ok, json: jsonText(versioned(m, version)), etag: version)
    }

    func getMember(_ c: Call) throws -> Reply {
        let (config, _) = try current()
        let p = config.pools[try poolIndex(config, c)]
        return try memberReply(pool: p.name, type: p.type, address: c.param("address"))
    }

    func createMember(_ c: Call) async throws -> Reply {
        let d = try Self.object(try await c.readJSON(), "a member")
        let (snapshotConfig, _) = try current()
        let pool = snapshotConfig.pools[try poolIndex(snapshotConfig, c, address: d["address"] as? String)]
        let member = try decode(Member.self, d)
        let state = try await write(c, expected: [:]) { config in
            guard let i = config.pools.firstIndex(where: { $0.name == pool.name && $0.type == pool.type }) else {
                throw APIError.notFound("no pool \(pool.name)")
            }
            if config.pools[i].members.contains(where: { Member.sameIdentity($0.address, member.address) }) {
                throw APIError.conflict("address", "\(member.address) is already a member of \(pool.name)")
            }
            config.pools[i].members.append(member)
            return .object("pools[\(i)].members[\(config.pools[i].members.count - 1)]")
        }
        return try memberReply(pool: pool.name, type: pool.type, address: member.address, created: true, state: state)
    }

    func putMember(_ c: Call) async throws -> Reply {
        var d = try Self.object(try await c.readJSON(), "a member")
        let (snapshotConfig, _) = try current()
        let pool = snapshotConfig.pools[try poolIndex(snapshotConfig, c)]
        let address = c.param("address")
        guard let existing = pool.members.first(where: { Member.sameIdentity($0.address, address) }) else {
            throw APIError.notFound("no member \(address) in \(pool.name)")
        }
        // A CNAME pool's member is named by its `target`, an A or AAAA pool's by its `address`.
        let field = existing.isTarget ? "target" : "address"
        try Self.pin(&d, field, to: existing.address, "does not match the \(field) in the path (\(existing.address))") {
            Member.sameIdentity($0, existing.address)
        }
        if d["site"] == nil { d["site"] = existing.site }
        let member = try decode(Member.self, d)
        let object = ObjectName.member(pool.name, pool.type, existing.address)
        let state = try await write(c, expected: try ifMatch(c, object)) { config in
            guard let i = config.pools.firstIndex(where: { $0.name == pool.name && $0.type == pool.type }),
                  let j = config.pools[i].members.firstIndex(where: { $0.address == existing.address }) else {
                throw APIError.notFound("no member \(address) in \(pool.name)")
            }
            config.pools[i].members[j] = member
            return .object("pools[\(i)].members[\(j)]")
        }
        return try memberReply(pool: pool.name, type: pool.type, address: existing.address, state: state)
    }

    func deleteMember(_ c: Call) async throws -> Reply {
        let (snapshotConfig, _) = try current()
        let pool = snapshotConfig.pools[try poolIndex(snapshotConfig, c)]
        let address = c.param("address")
        guard let existing = pool.members.first(where: { Member.sameIdentity($0.address, address) }) else {
            throw APIError.notFound("no member \(address) in \(pool.name)")
        }
        try await write(c, expected: try ifMatch(c, ObjectName.member(pool.name, pool.type, existing.address))) { config in
            guard let i = config.pools.firstIndex(where: { $0.name == pool.name && $0.type == pool.type }),
                  let j = config.pools[i].members.firstIndex(where: { $0.address == existing.address }) else {
                throw APIError.notFound("no member \(address) in \(pool.name)")
            }
            config.pools[i].members.remove(at: j)
            if config.pools[i].members.isEmpty {
                throw APIError.conflict(nil, "\(existing.address) is the last member of \(pool.name); delete the pool instead")
            }
            return .deletion
        }
        return .noContent
    }

    // MARK: - Topology

    /// The table, with the table's own version as the ETag (any change to any entry bumps it).
    func topologyReply(state: State? = nil) throws -> Reply {
        let (config, v) = try state ?? current()
        return .ok(["topology": config.topology.map { versioned($0, v[ObjectName.topology($0.network)]) }],
                   etag: v[ObjectName.topologyTable])
    }

    func putTopology(_ c: Call) async throws -> Reply {
        let d = try Self.object(try await c.readJSON(), "{\"topology\": [...]}")
        if let extra = d.keys.first(where: { $0 != "topology" }) {
            throw APIError.invalid(extra, "unknown key; the body is {\"topology\": [ENTRY...]}")
        }
        guard let entries = d["topology"] as? [Any] else { throw APIError.invalid("topology", "expected a list of entries") }
        // What a GET returned can be PUT back: `version` is read-only (`decode` drops it).
        let table = try decode(GSLBConfig.self, ["topology": entries]).topology
        let state = try await write(c, expected: try ifMatch(c, ObjectName.topologyTable)) { config in
            config.topology = table
            return .object("")
        }
        return try topologyReply(state: state)
    }

    func createTopology(_ c: Call) async throws -> Reply {
        let entry = try decode(TopologyEntry.self, try Self.object(try await c.readJSON(), "a topology entry"))
        let (config, v) = try await write(c, expected: [:]) { config in
            if config.topology.contains(where: { $0.network == entry.network }) {
                throw APIError.conflict("network", "\(entry.network) is already in the table")
            }
            config.topology.append(entry)
            return .object("topology[\(config.topology.count - 1)]")
        }
        let stored = config.topology.first { $0.network == entry.network } ?? entry
        let version = v[ObjectName.topology(stored.network)]
        return .created(versioned(stored, version), etag: version)
    }

    func deleteTopology(_ c: Call) async throws -> Reply {
        guard let network = c.query("network"), !network.isEmpty else {
            throw APIError.badRequest("network", "say which entry: ?network=ADDRESS/PREFIX")
        }
        try await write(c, expected: try ifMatch(c, ObjectName.topology(network))) { config in
            guard let i = config.topology.firstIndex(where: { $0.network == network }) else {
                throw APIError.notFound("no topology entry \(network)", field: "network")
            }
            config.topology.remove(at: i)
            return .unchecked
        }
        return .noContent
    }
}
