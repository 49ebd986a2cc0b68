import Foundation
import Testing

/// docker-compose.yml, the Dockerfiles and deploy/compose/ checked without a Docker engine:
/// the YAML is read by python3-yaml (through /usr/bin/python3, turned into JSON), then
/// every reference it makes is followed to the file, address or flag it names.
@Suite struct ComposeFileTests {
    static let root = Paths.packageRoot

    /// docker-compose.yml as JSON objects.
    static func compose() throws -> [String: Any] {
        try yamlAsJSON(root.appendingPathComponent("docker-compose.yml"))
    }

    static func yamlAsJSON(_ file: URL) throws -> [String: Any] {
        let script = "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)"
        let (status, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", script, file.path])
        try #require(status == 0, "python3 could not read \(file.path) as YAML: \(out)")
        let obj = try JSONSerialization.jsonObject(with: Data(out.utf8))
        return try #require(obj as? [String: Any], "\(file.lastPathComponent): the top level is not a mapping")
    }

    static func services() throws -> [String: [String: Any]] {
        let s = try #require(try compose()["services"] as? [String: [String: Any]], "no services")
        return s
    }

    /// `front: {ipv4_address: X}` per network of a service.
    static func addresses(of service: [String: Any]) -> [String: String] {
        var r: [String: String] = [:]
        for (net, v) in service["networks"] as? [String: Any] ?? [:] {
            if let a = (v as? [String: Any])?["ipv4_address"] as? String { r[net] = a }
        }
        return r
    }

    static func ipv4(_ s: String) -> UInt32? {
        let p = s.split(separator: ".").compactMap { UInt32($0) }
        guard p.count == 4, p.allSatisfy({ $0 < 256 }) else { return nil }
        return p.reduce(0) { $0 << 8 | $1 }
    }

    static func contains(_ cidr: String, _ addr: String) -> Bool {
        let parts = cidr.split(separator: "/")
        guard parts.count == 2, let net = ipv4(String(parts[0])), let len = UInt32(parts[1]), len <= 32,
              let a = ipv4(addr) else { return false }
        let mask: UInt32 = len == 0 ? 0 : ~UInt32(0) << (32 - len)
        return a & mask == net & mask
    }

    static let documentationRanges = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]

    /// The Cairn nodes: two, sharing one PostgreSQL store (issue 13).
    static let nodes = ["ns1", "ns2"]

    static func file(_ rel: String) -> String? {
        try? String(contentsOf: root.appendingPathComponent(rel), encoding: .utf8)
    }

    @Test func theTopologyHasTwoCairnNodesPostgreSQLThreeBackendsUnboundAndAClient() throws {
        let names = Set(try Self.services().keys)
        #expect(names == ["ns1", "ns2", "postgres", "backend-fra", "backend-iad", "backend-sin", "unbound", "client"])
    }

    @Test func bothNodesShareOnePostgreSQLStoreAndWaitForItsHealthCheck() throws {
        let compose = try Self.compose()
        let svcs = try Self.services()
        let pg = try #require(svcs["postgres"])
        let image = try #require(pg["image"] as? String)
        #expect(image.hasPrefix("postgres:15"), "postgres: \(image) is not PostgreSQL 15")
        let pgTest = (pg["healthcheck"] as? [String: Any])?["test"] as? [String] ?? []
        #expect(pgTest.contains { $0.contains("pg_isready") }, "postgres: the health check does not use pg_isready")
        let pgAddress = try #require(Self.addresses(of: pg)["db"], "postgres is not on the db network")
        let pgEnv = pg["environment"] as? [String: Any] ?? [:]
        #expect(pgEnv["POSTGRES_PASSWORD"] == nil, "the database password is in the compose file")
        #expect(pgEnv["POSTGRES_PASSWORD_FILE"] as? String == "/run/secrets/db-password")
        // the secret exists and both sides get it
        let secrets = try #require(compose["secrets"] as? [String: [String: Any]], "no top-level secrets")
        let file = try #require(secrets["db-password"]?["file"] as? String, "no db-password secret file")
        #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(file).path), "\(file) does not exist")
        #expect((pg["secrets"] as? [String])?.contains("db-password") == true)
        var stores: Set<String> = [], names: Set<String> = []
        for n in Self.nodes {
            let svc = try #require(svcs[n], "no service \(n)")
            let dep = (svc["depends_on"] as? [String: Any])?["postgres"] as? [String: Any]
            #expect(dep?["condition"] as? String == "service_healthy", "\(n) does not wait for postgres to be healthy")
            #expect((svc["secrets"] as? [String])?.contains("db-password") == true, "\(n) does not get the db-password secret")
            let env = try #require(svc["environment"] as? [String: Any], "\(n) has no environment")
            let store = try #require(env["CAIRN_STORE"] as? String, "\(n): no CAIRN_STORE")
            #expect(store.hasPrefix("postgres://cairn@\(pgAddress):5432/cairn"), "\(n): \(store) is not the postgres service")
            #expect(!store.split(separator: "@")[0].dropFirst("postgres://".count).contains(":"), "\(n): a password in the URL")
            #expect(env["CAIRN_DB_PASSWORD_FILE"] as? String == "/run/secrets/db-password")
            #expect(env["PGPASSWORD"] == nil, "\(n): the password is in the compose file")
            stores.insert(store)
            names.insert(try #require(env["CAIRN_NODE_NAME"] as? String, "\(n): no CAIRN_NODE_NAME"))
            #expect(Self.addresses(of: svc)["db"] != nil, "\(n) is not on the db network")
        }
        #expect(stores.count == 1, "the nodes do not share one store: \(stores)")
        #expect(names == Set(Self.nodes), "node names \(names)")
        // the start script turns those into cairn's flags and PGPASSWORD
        let start = try #require(Self.file("deploy/compose/cairn-start.sh"))
        for needle in ["CAIRN_STORE", "CAIRN_DB_PASSWORD_FILE", "export PGPASSWORD", "--store \"$STORE\"", "--node-name \"$CAIRN_NODE_NAME\""] {
            #expect(start.contains(needle), "deploy/compose/cairn-start.sh does not use \(needle)")
        }
    }

    @Test func everyServiceHasAHealthCheck() throws {
        for (name, svc) in try Self.services() {
            let hc = svc["healthcheck"] as? [String: Any]
            let test = hc?["test"] as? [String]
            #expect(test != nil && ["CMD", "CMD-SHELL"].contains(test?.first ?? ""), "\(name): no healthcheck test")
            #expect((test?.count ?? 0) >= 2, "\(name): empty healthcheck")
            #expect(hc?["interval"] != nil, "\(name): healthcheck without interval")
        }
    }

    @Test func everyBuildContextAndDockerfileExists() throws {
        var built = 0
        for (name, svc) in try Self.services() {
            if let build = svc["build"] {
                let b = build as? [String: Any] ?? ["context": build]
                let context = try #require(b["context"] as? String, "\(name): build without context")
                let dir = Self.root.appendingPathComponent(context).standardizedFileURL
                var isDir: ObjCBool = false
                #expect(FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir) && isDir.boolValue,
                        "\(name): build context \(context) is not a directory")
                let dockerfile = dir.appendingPathComponent(b["dockerfile"] as? String ?? "Dockerfile")
                let text = try? String(contentsOf: dockerfile, encoding: .utf8)
                #expect(text != nil, "\(name): no \(dockerfile.path)")
                // every COPY source (not --from) is in the context
                for line in (text ?? "").split(separator: "\n") where line.hasPrefix("COPY ") && !line.contains("--from") {
                    let words = line.split(separator: " ").dropFirst().filter { !$0.hasPrefix("--") && $0 != "\\" }
                    for src in words.dropLast() {
                        if src.contains("[") { continue }   // an optional glob (Package.resol[v]ed)
                        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(String(src)).path),
                                "\(name): COPY \(src) is not in the context \(context)")
                    }
                }
                built += 1
            } else {
                let image = try #require(svc["image"] as? String, "\(name): neither build nor image")
                let tag = image.split(separator: ":").last.map(String.init) ?? ""
                #expect(image.contains(":") && tag != "latest", "\(name): image \(image) is not pinned to a tag")
            }
        }
        #expect(built >= 3)
    }

    @Test func theCairnImageBuildsWithSwiftAndRunsOnDebianSlimWithLibldns() throws {
        let text = try #require(Self.file("Dockerfile"))
        let froms = text.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(froms.count == 2)
        #expect(froms.first?.hasPrefix("FROM swift:6.") == true && froms.first?.hasSuffix(" AS build") == true)
        #expect(froms.last == "FROM debian:12-slim")
        #expect(text.contains("libldns3"))
        #expect(text.contains("COPY --from=build"))
        let ignore = try #require(Self.file(".dockerignore"))
        #expect(ignore.contains(".build*") && ignore.contains("*.sqlite"))
        // nothing the build copies is excluded
        for kept in ["Sources", "Tests", "zones", "Package.swift"] {
            #expect(!ignore.split(separator: "\n").contains(Substring(kept)), ".dockerignore excludes \(kept)")
        }
    }

    /// The image's HEALTHCHECK, run for real against a server whose zones are not the example ones (it used to
    /// ask for `example.com SOA` and failed for anyone mounting their own zones): healthy while the server
    /// answers, unhealthy once it is gone.
    @Test func theHealthcheckPassesWithAnyZonesAndFailsWithoutAServer() throws {
        let text = try #require(Self.file("Dockerfile"))
        let joined = text.replacingOccurrences(of: "\\\n", with: " ")
        let line = try #require(joined.split(separator: "\n").first { $0.hasPrefix("HEALTHCHECK ") })
        let cmd = String(try #require(line.range(of: " CMD ").map { line[$0.upperBound...] }))
        #expect(!cmd.contains("example"), "the HEALTHCHECK names a zone: \(cmd)")
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let zones = dir.appendingPathComponent("zones")
        try FileManager.default.createDirectory(at: zones, withIntermediateDirectories: true)
        try "$ORIGIN other.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"
            .write(to: zones.appendingPathComponent("other.test.zone"), atomically: true, encoding: .utf8)
        let server = try CairnProcess(["serve", "--zones", zones.path, "--dns", "127.0.0.1:0"])
        let port = server.port
        let local = cmd.replacingOccurrences(of: "@127.0.0.1", with: "@127.0.0.1 -p \(port)")
        #expect(local != cmd, "the HEALTHCHECK does not query @127.0.0.1: \(cmd)")
        let sh = URL(fileURLWithPath: "/bin/sh")
        let (healthy, out) = try CairnProcess.runCapturing(sh, ["-c", local])
        #expect(healthy == 0, "HEALTHCHECK failed against a live server: \(out)")
        server.stop()
        let (dead, _) = try CairnProcess.runCapturing(sh, ["-c", local])
        #expect(dead != 0, "HEALTHCHECK passed with no server")
    }

    @Test func everyBindMountExistsAndEveryNamedVolumeIsDeclared() throws {
        let compose = try Self.compose()
        let declared = Set((compose["volumes"] as? [String: Any] ?? [:]).keys)
        var named: Set<String> = []
        for (name, svc) in try Self.services() {
            for v in svc["volumes"] as? [String] ?? [] {
                let parts = v.split(separator: ":").map(String.init)
                try #require(parts.count >= 2, "\(name): volume \(v) is not SOURCE:TARGET")
                if parts[0].hasPrefix(".") || parts[0].hasPrefix("/") {
                    let host = Self.root.appendingPathComponent(parts[0]).standardizedFileURL.path
                    #expect(FileManager.default.fileExists(atPath: host), "\(name): \(parts[0]) does not exist")
                    #expect(parts.count == 3 && parts[2] == "ro", "\(name): bind mount \(v) should be read-only")
                } else {
                    named.insert(parts[0])
                    #expect(declared.contains(parts[0]), "\(name): volume \(parts[0]) is not declared")
                }
            }
        }
        #expect(named.contains("db-data"))
        for n in Self.nodes {
            let cairnVolumes = try #require(try Self.services()[n]?["volumes"] as? [String])
            #expect(cairnVolumes.contains("./zones:/etc/cairn/zones:ro"))
            #expect(cairnVolumes.contains("./deploy/compose/cairn-start.sh:/etc/cairn/cairn-start.sh:ro"))
        }
        #expect(try Self.services()["postgres"]?["volumes"] as? [String] == ["db-data:/var/lib/postgresql/data"])
    }

    @Test func theMountedZoneDirectoryServesExampleCom() throws {
        let zone = try #require(Self.file("zones/example.com.zone"))
        #expect(zone.contains("$ORIGIN example.com."))
        #expect(zone.contains("IN SOA"))
        #expect(zone.contains("192.0.2.53"), "ns1.example.com. (glue) should be Cairn ns1's compose address")
        // the compose start script serves the mounted paths
        let start = try #require(Self.file("deploy/compose/cairn-start.sh"))
        #expect(start.contains("ZONES=/etc/cairn/zones") && start.contains("/etc/cairn/gslb.yaml")
                && start.contains("/var/lib/cairn/cairn.sqlite"))
    }

    @Test func portsPublishCairnsDNSOnLoopbackOverUDPAndTCP() throws {
        let svcs = try Self.services()
        let compose = try Self.compose()
        let nets = compose["networks"] as? [String: [String: Any]] ?? [:]
        for (name, svc) in svcs {
            guard let ports = svc["ports"] as? [String] else { continue }
            for p in ports {
                // HOST_IP:HOST_PORT:CONTAINER_PORT/PROTO
                let parts = p.split(separator: ":")
                #expect(parts.count == 3 && parts[0] == "127.0.0.1", "\(name): \(p) is not published on loopback only")
                if let hostPort = parts.dropFirst().first { #expect(Int(hostPort).map { (1...65535).contains($0) } == true) }
            }
            // Docker publishes no port of a container that is only on internal networks.
            let external = (svc["networks"] as? [String: Any] ?? [:]).keys.filter { nets[$0]?["internal"] as? Bool != true }
            #expect(!external.isEmpty, "\(name) publishes ports but is only on internal networks")
        }
        var hostPorts: Set<Substring> = []
        for n in Self.nodes {
            let cairnPorts = try #require(svcs[n]?["ports"] as? [String])
            #expect(cairnPorts.contains { $0.hasSuffix(":53/udp") } && cairnPorts.contains { $0.hasSuffix(":53/tcp") })
            hostPorts.formUnion(cairnPorts.filter { $0.contains(":53/") }.map { $0.split(separator: ":")[1] })
            // /metrics (--metrics 0.0.0.0:9153 in deploy/compose/cairn-start.sh), published on loopback too
            #expect(cairnPorts.contains { $0.hasSuffix(":9153/tcp") }, "\(n) does not publish its metrics port")
        }
        #expect(hostPorts.count == Self.nodes.count, "the nodes do not publish distinct host ports: \(hostPorts)")
        let start = try #require(Self.file("deploy/compose/cairn-start.sh"))
        #expect(start.contains("--metrics 0.0.0.0:9153"))
        for (name, svc) in svcs where !Self.nodes.contains(name) { #expect(svc["ports"] == nil, "\(name) publishes ports") }
    }

    @Test func addressesAreUniqueInTheirSubnetsAndFromTheDocumentationRanges() throws {
        let compose = try Self.compose()
        let nets = try #require(compose["networks"] as? [String: [String: Any]])
        var subnets: [String: String] = [:]
        for (name, n) in nets {
            let cfg = ((n["ipam"] as? [String: Any])?["config"] as? [[String: Any]])?.first
            let subnet = try #require(cfg?["subnet"] as? String, "network \(name) has no subnet")
            let base = String(subnet.split(separator: "/")[0])
            #expect(Self.documentationRanges.contains { Self.contains($0, base) } && Int(subnet.split(separator: "/")[1])! >= 24,
                    "network \(name): \(subnet) is not inside a documentation range")
            subnets[name] = subnet
            if name != "publish" { #expect(n["internal"] as? Bool == true, "network \(name) should be internal") }
        }
        var seen: Set<String> = []
        for (name, svc) in try Self.services() {
            let addrs = Self.addresses(of: svc)
            #expect(!addrs.isEmpty, "\(name) has no fixed address")
            for (net, a) in addrs {
                let subnet = try #require(subnets[net], "\(name): unknown network \(net)")
                #expect(Self.contains(subnet, a), "\(name): \(a) is not in \(net) \(subnet)")
                #expect(seen.insert(a).inserted, "\(a) is used twice")
            }
        }
    }

    @Test func unboundStubZoneListsBothCairnNodes() throws {
        let conf = try #require(Self.file("deploy/compose/unbound/unbound.conf"))
        let lines = conf.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.hasPrefix("#") }
        let stub = try #require(lines.firstIndex(of: "stub-zone:"), "no stub-zone")
        let body = lines[(stub + 1)...].prefix { !$0.hasSuffix(":") || $0.contains(": ") }
        #expect(body.contains("name: \"example.com.\""))
        let stubAddrs = body.filter { $0.hasPrefix("stub-addr:") }.map { $0.dropFirst("stub-addr:".count).trimmingCharacters(in: .whitespaces) }
        let svcs = try Self.services()
        let fronts = try Self.nodes.map { n in
            let node = try #require(svcs[n], "no service \(n)")
            return try #require(Self.addresses(of: node)["front"], "\(n) is not on front")
        }
        #expect(stubAddrs == fronts)
        for n in Self.nodes {
            let dep = (svcs["unbound"]?["depends_on"] as? [String: Any])?[n] as? [String: Any]
            #expect(dep?["condition"] as? String == "service_healthy", "unbound does not wait for \(n)")
        }
        #expect(Self.addresses(of: svcs["unbound"]!)["front"] != nil, "unbound is not on cairn's front network")
        #expect(lines.contains("module-config: \"iterator\""), "no validator: example.com. is unsigned and the root is out of reach")
        // the config mounted into the unbound service is this file
        let vols = svcs["unbound"]?["volumes"] as? [String] ?? []
        #expect(vols.contains("./deploy/compose/unbound/unbound.conf:/etc/unbound/unbound.conf:ro"))
        // the client asks unbound
        #expect((svcs["client"]?["dns"] as? [String]) == [Self.addresses(of: svcs["unbound"]!)["front"]!])
        // unbound checks its own config when it is installed here
        let checkconf = URL(fileURLWithPath: "/usr/sbin/unbound-checkconf")
        if FileManager.default.isExecutableFile(atPath: checkconf.path) {
            let (st, out) = try CairnProcess.runCapturing(checkconf, [Self.root.appendingPathComponent("deploy/compose/unbound/unbound.conf").path])
            #expect(st == 0, "unbound-checkconf: \(out)")
        }
    }

    @Test func theComposeGSLBFileAppliesAndItsMembersAreTheBackends() throws {
        let svcs = try Self.services()
        let gslb = try Self.yamlAsJSON(Self.root.appendingPathComponent("deploy/compose/gslb.yaml"))
        let pools = try #require(gslb["pools"] as? [[String: Any]])
        let members = pools.flatMap { $0["members"] as? [[String: Any]] ?? [] }
        let backendAddrs = Set(svcs.filter { $0.key.hasPrefix("backend-") }.flatMap { Self.addresses(of: $0.value).values })
        #expect(Set(members.compactMap { $0["address"] as? String }) == backendAddrs)
        for m in members {
            let site = m["site"] as? String ?? ""
            #expect(Self.addresses(of: svcs["backend-\(site)"] ?? [:]).values.contains(m["address"] as? String ?? ""),
                    "member of site \(site) is not backend-\(site)'s address")
        }
        // the monitor probes the port the backends listen on, and Cairn can reach every backend
        let monitors = try #require(gslb["monitors"] as? [[String: Any]])
        let port = try #require(monitors.first?["port"] as? Int)
        for (name, svc) in svcs where name.hasPrefix("backend-") {
            #expect((svc["command"] as? [String])?.last == String(port), "\(name) does not listen on the monitor's port")
            for n in Self.nodes {
                let cairnNets = Set(Self.addresses(of: svcs[n] ?? [:]).keys)
                #expect(!cairnNets.isDisjoint(with: Self.addresses(of: svc).keys), "\(n) cannot reach \(name)")
            }
        }
        // and the file is valid for the zone that the compose topology mounts
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (st, out) = try CairnProcess.run(["apply", "-f", Self.root.appendingPathComponent("deploy/compose/gslb.yaml").path,
                                              "--db", dir.appendingPathComponent("c.sqlite").path,
                                              "--zones", Self.root.appendingPathComponent("zones").path, "--dry-run"])
        #expect(st == 0, "cairn apply --dry-run: \(out)")
    }

    /// Needs `cairn serve --user` (Privileges): the compose start script and the image's CMD use it.
    @Test func theComposeAndImageCommandsUseOnlyFlagsThatCairnServeHas() throws {
        let (st, help) = try CairnProcess.run(["serve", "--help"])
        #expect(st == 0)
        let sources = [try #require(Self.file("deploy/compose/cairn-start.sh")), try #require(Self.file("Dockerfile"))]
        var flags: Set<String> = []
        for text in sources {
            // continuation lines (a trailing backslash) joined first
            let joined = text.replacingOccurrences(of: "\\\n", with: " ")
            for line in joined.split(separator: "\n") where line.contains("\"serve\"") || line.contains(" serve ") {
                for w in line.split(whereSeparator: { " \",[]\\{}+".contains($0) }) where w.hasPrefix("--") {
                    flags.insert(String(w))
                }
            }
        }
        #expect(flags.contains("--user") && flags.contains("--store") && flags.contains("--node-name"))
        for f in flags { #expect(help.contains(f), "cairn serve has no \(f)") }
    }
}
