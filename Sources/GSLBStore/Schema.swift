/// The versioned schema, one list for both backends (PostgreSQL gets the same DDL through
/// `SQLDialect.ddl`). Migrations are append-only: a released migration is never edited;
/// a change is a new migration ("v3", ...). A store carrying a migration this binary does not
/// know was written by a newer Cairn, and `Store.init` refuses it (`schemaTooNew`).
/// Any new stored value an older binary could not read (a new policy, monitor type,
/// fallback) comes with a migration, even an empty one, so that older binaries refuse the store
/// instead of misreading it.
///
/// Applied migrations are recorded in `grdb_migrations (identifier)`, the table GRDB's
/// `DatabaseMigrator` used before the store had two backends: files it migrated open as they are.
enum Schema {
    static let migrations: [(id: String, sql: String)] = [("v1", v1), ("v2", v2), ("v3", v3), ("v4", v4), ("v5", v5), ("v6", v6),
                                                          ("v7", v7), ("v8", v8), ("v9", v9), ("v10", v10)]

    /// Migrations whose PostgreSQL form is not `SQLDialect.ddl` of the SQLite one (a constraint PostgreSQL
    /// can alter in place and SQLite cannot), by id.
    static let postgresMigrations: [String: String] = ["v8": v8Postgres]

    /// Applies the migrations the store has not seen yet, one transaction each (every writer
    /// is serialised, so two nodes starting together do not both migrate); throws
    /// `schemaTooNew` before writing anything when the store has migrations this binary does
    /// not know. A failure closes `database`.
    static func migrate(_ database: any SQLDatabase) throws {
        let known = migrations.map(\.id)
        do {
            for migration in migrations {
                try mapErrors("migrating \(database.locationDescription)") {
                    _ = try database.write(announce: true) { db in
                        try db.executeScript("CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                        let applied = try appliedMigrations(db)
                        let unknown = applied.subtracting(known).sorted()
                        if !unknown.isEmpty { throw StoreError.schemaTooNew(found: unknown, known: known) }
                        guard !applied.contains(migration.id) else { return }
                        let sql = db.dialect == .postgres ? postgresMigrations[migration.id] ?? db.dialect.ddl(migration.sql) : migration.sql
                        try db.executeScript(sql)
                        try db.execute("INSERT INTO grdb_migrations (identifier) VALUES (?)", [migration.id])
                    }
                }
            }
        } catch { database.close(); throw error }
    }

    static func appliedMigrations(_ db: any SQLTransaction) throws -> Set<String> {
        Set(try db.fetch("SELECT identifier FROM grdb_migrations").map { $0[0] as String })
    }

    /// Every table created by the migrations (tests check them from empty), referred-to tables first: the order
    /// `cairn store copy` copies rows in.
    static let tables = [
        "sites", "monitors", "pools", "members", "topology", "overrides",
        "member_health", "health_history", "audit_log", "tokens", "drills", "collection_versions", "tsig_keys",
        "nodes", "health_observations", "leases", "dnssec_keys", "geoip",
    ]

    /// `pools` and `members` as v1 created them: v8 created them again (`pools_v8`, `members_v8`, then renamed)
    /// with CNAME among the pool types. The text of both migrations is as it was released.
    static func poolsTable(_ name: String, types: String) -> String {
        """
        CREATE TABLE \(name) (
            name      TEXT NOT NULL,
            type      TEXT NOT NULL CHECK (type IN (\(types))),
            policy    TEXT NOT NULL,
            ttl       INTEGER NOT NULL,
            answers   INTEGER NOT NULL,
            ecs       INTEGER NOT NULL CHECK (ecs IN (0, 1)),
            fallback  TEXT NOT NULL DEFAULT 'all',
            monitor   TEXT REFERENCES monitors(name) ON DELETE RESTRICT,
            rto       REAL,
            version   INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (name, type)
        );
        """
    }

    static func membersTable(_ name: String, pools: String) -> String {
        """
        CREATE TABLE \(name) (
            id             INTEGER PRIMARY KEY,
            pool_name      TEXT NOT NULL,
            pool_type      TEXT NOT NULL,
            site           TEXT NOT NULL REFERENCES sites(name) ON DELETE RESTRICT,
            address        TEXT NOT NULL,
            weight         INTEGER NOT NULL,
            priority       INTEGER NOT NULL,
            state          TEXT NOT NULL CHECK (state IN ('enabled', 'drain', 'disabled')),
            monitor        TEXT REFERENCES monitors(name) ON DELETE RESTRICT,
            probe_address  TEXT,
            probe_port     INTEGER,
            load           REAL,
            position       INTEGER NOT NULL,
            version        INTEGER NOT NULL DEFAULT 1,
            UNIQUE (pool_name, pool_type, address),
            FOREIGN KEY (pool_name, pool_type) REFERENCES \(pools)(name, type) ON DELETE CASCADE
        );
        """
    }

    // Objects of the declarative config carry `version`, bumped on every update (optimistic
    // concurrency for the API). Renames are delete + create, so no ON UPDATE actions.
    static let v1 = """
        CREATE TABLE sites (
            name      TEXT PRIMARY KEY NOT NULL,
            region    TEXT,
            lat       REAL,
            lon       REAL,
            capacity  REAL,
            load      REAL,
            version   INTEGER NOT NULL DEFAULT 1,
            CHECK ((lat IS NULL) = (lon IS NULL))
        );

        CREATE TABLE monitors (
            name          TEXT PRIMARY KEY NOT NULL,
            type          TEXT NOT NULL,
            port          INTEGER,
            interval_ms   INTEGER NOT NULL,
            timeout_ms    INTEGER NOT NULL,
            rise          INTEGER NOT NULL,
            fall          INTEGER NOT NULL,
            options_json  TEXT NOT NULL DEFAULT '{}',
            version       INTEGER NOT NULL DEFAULT 1
        );

        \(poolsTable("pools", types: "'A', 'AAAA'"))
        CREATE INDEX pools_monitor ON pools(monitor);

        \(membersTable("members", pools: "pools"))
        CREATE INDEX members_site ON members(site);
        CREATE INDEX members_monitor ON members(monitor);

        CREATE TABLE topology (
            id        INTEGER PRIMARY KEY,
            network   TEXT NOT NULL UNIQUE,
            region    TEXT,
            site      TEXT REFERENCES sites(name) ON DELETE RESTRICT,
            lat       REAL,
            lon       REAL,
            position  INTEGER NOT NULL,
            version   INTEGER NOT NULL DEFAULT 1,
            CHECK ((lat IS NULL) = (lon IS NULL))
        );
        CREATE INDEX topology_site ON topology(site);

        -- AUTOINCREMENT: an override id is never reused, so a stale id held by a client or a
        -- drill cannot lift somebody else's override.
        CREATE TABLE overrides (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            scope       TEXT NOT NULL CHECK (scope IN ('site', 'pool', 'member')),
            target      TEXT NOT NULL,
            state       TEXT NOT NULL CHECK (state IN ('up', 'down', 'drain')),
            reason      TEXT NOT NULL,
            principal   TEXT NOT NULL,
            expires_at  REAL,
            created_at  REAL NOT NULL,
            drill_id    TEXT,
            version     INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX overrides_expires_at ON overrides(expires_at);
        CREATE INDEX overrides_drill_id ON overrides(drill_id);

        CREATE TABLE member_health (
            pool_name  TEXT NOT NULL,
            address    TEXT NOT NULL,
            state      TEXT NOT NULL CHECK (state IN ('up', 'down', 'unknown')),
            since      REAL NOT NULL,
            PRIMARY KEY (pool_name, address)
        ) WITHOUT ROWID;

        CREATE TABLE health_history (
            id         INTEGER PRIMARY KEY,
            pool_name  TEXT NOT NULL,
            address    TEXT NOT NULL,
            state      TEXT NOT NULL CHECK (state IN ('up', 'down', 'unknown')),
            time       REAL NOT NULL
        );
        CREATE INDEX health_history_member_time ON health_history(pool_name, address, time);
        CREATE INDEX health_history_time ON health_history(time);

        CREATE TABLE audit_log (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            time         REAL NOT NULL,
            principal    TEXT NOT NULL,
            source       TEXT NOT NULL,
            request_id   TEXT,
            action       TEXT NOT NULL,
            object       TEXT NOT NULL,
            before_json  TEXT,
            after_json   TEXT
        );
        CREATE INDEX audit_log_object_time ON audit_log(object, time);
        CREATE INDEX audit_log_time ON audit_log(time);

        CREATE TABLE tokens (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            name          TEXT NOT NULL,
            hash          TEXT NOT NULL UNIQUE,
            scope         TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
            expires_at    REAL,
            created_at    REAL NOT NULL,
            last_used_at  REAL
        );

        CREATE TABLE drills (
            id           TEXT PRIMARY KEY NOT NULL,
            target_json  TEXT NOT NULL,
            mode         TEXT NOT NULL,
            status       TEXT NOT NULL,
            started_at   REAL,
            ended_at     REAL,
            report_json  TEXT
        );
        CREATE INDEX drills_started_at ON drills(started_at);
        """

    /// Versions of whole collections, for `If-Match` on writes that replace one (`PUT /v1/topology`):
    /// bumped in the transaction of any change to one of its entries.
    static let v2 = """
        CREATE TABLE collection_versions (
            name     TEXT PRIMARY KEY NOT NULL,
            version  INTEGER NOT NULL DEFAULT 1
        ) WITHOUT ROWID;
        INSERT INTO collection_versions (name, version) VALUES ('topology', 1);
        """

    /// v3: which node (`--node-name`) made each audited change (issue 13: several nodes, one log).
    static let v3 = """
        ALTER TABLE audit_log ADD COLUMN node TEXT;
        """

    /// v4: TSIG keys (RFC 8945), read into every snapshot. The secret is base64 text (both backends
    /// bind text; it is never shown after creation, logged, exported or audited).
    static let v4 = """
        CREATE TABLE tsig_keys (
            name        TEXT PRIMARY KEY NOT NULL,
            algorithm   TEXT NOT NULL CHECK (algorithm IN ('hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512')),
            secret      TEXT NOT NULL,
            created_at  REAL NOT NULL
        ) WITHOUT ROWID;
        """

    /// v5: the node registry and each node's own health verdicts, for health quorum (issue 13: several
    /// nodes), the monitors' `quorum`, and leases (one drill runner among the nodes).
    static let v5 = """
        ALTER TABLE monitors ADD COLUMN quorum TEXT CHECK (quorum IN ('local', 'majority', 'any', 'all'));

        CREATE TABLE nodes (
            name         TEXT PRIMARY KEY NOT NULL,
            dns          TEXT NOT NULL,
            api          TEXT,
            version      TEXT NOT NULL,
            generation   INTEGER NOT NULL,
            store_token  INTEGER NOT NULL,
            started_at   REAL NOT NULL,
            heartbeat    REAL NOT NULL,
            stopped_at   REAL
        ) WITHOUT ROWID;

        CREATE TABLE health_observations (
            node       TEXT NOT NULL,
            pool_name  TEXT NOT NULL,
            address    TEXT NOT NULL,
            state      TEXT NOT NULL CHECK (state IN ('up', 'down', 'unknown')),
            since      REAL NOT NULL,
            PRIMARY KEY (node, pool_name, address)
        ) WITHOUT ROWID;

        CREATE TABLE leases (
            name        TEXT PRIMARY KEY NOT NULL,
            holder      TEXT NOT NULL,
            expires_at  REAL NOT NULL
        ) WITHOUT ROWID;
        """

    /// v6: DNSSEC signing keys (issue 16), read into every snapshot so that every node signs with the same
    /// keys. Keys are base64 text; the private key is never shown, logged, exported or audited.
    static let v6 = """
        CREATE TABLE dnssec_keys (
            zone         TEXT NOT NULL,
            key_tag      INTEGER NOT NULL,
            role         TEXT NOT NULL CHECK (role IN ('csk', 'ksk', 'zsk')),
            algorithm    TEXT NOT NULL CHECK (algorithm IN ('ecdsap256sha256', 'ed25519')),
            public_key   TEXT NOT NULL,
            private_key  TEXT NOT NULL,
            created_at   REAL NOT NULL,
            PRIMARY KEY (zone, public_key)
        ) WITHOUT ROWID;
        """

    /// v7: the config generation (row `config` of `collection_versions`), bumped in the transaction of every
    /// write that changes a site, monitor, pool, member or topology entry. A server keeps the config it last
    /// read or wrote in memory and uses it while the generation it sees is the same (docs/store.md); a binary
    /// that does not bump it must not write this store, hence a migration older binaries refuse.
    static let v7 = """
        INSERT INTO collection_versions (name, version) VALUES ('config', 1);
        """

    /// v8: CNAME pools (issue 17 item 7): `pools.type` takes `CNAME`, whose members' `address` is the target
    /// name. SQLite cannot alter a CHECK constraint, so `pools` and `members` are rebuilt (members first out,
    /// so that dropping the old `pools` cascades to nothing; renaming `pools_v8` moves the members' foreign key
    /// with it), rows and ids kept.
    static let v8 = """
        \(poolsTable("pools_v8", types: "'A', 'AAAA', 'CNAME'"))
        INSERT INTO pools_v8 (name, type, policy, ttl, answers, ecs, fallback, monitor, rto, version)
            SELECT name, type, policy, ttl, answers, ecs, fallback, monitor, rto, version FROM pools;
        \(membersTable("members_v8", pools: "pools_v8"))
        INSERT INTO members_v8 (id, pool_name, pool_type, site, address, weight, priority, state, monitor, probe_address,
                                probe_port, load, position, version)
            SELECT id, pool_name, pool_type, site, address, weight, priority, state, monitor, probe_address,
                   probe_port, load, position, version FROM members;
        DROP TABLE members;
        DROP TABLE pools;
        ALTER TABLE pools_v8 RENAME TO pools;
        ALTER TABLE members_v8 RENAME TO members;
        CREATE INDEX pools_monitor ON pools(monitor);
        CREATE INDEX members_site ON members(site);
        CREATE INDEX members_monitor ON members(monitor);
        """

    /// v8 on PostgreSQL: the same widened CHECK, in place (v1's unnamed constraint is `pools_type_check`).
    static let v8Postgres = """
        ALTER TABLE pools DROP CONSTRAINT pools_type_check;
        ALTER TABLE pools ADD CONSTRAINT pools_type_check CHECK (type IN ('A', 'AAAA', 'CNAME'));
        """

    /// v9: DNSSEC key rollover (issue 16): each key's state and since when, the next step's time (written by
    /// the daemon from the zone's TTLs) and the operator's delays of its rollover. Keys stored before are active.
    static let v9 = """
        ALTER TABLE dnssec_keys ADD COLUMN state TEXT NOT NULL DEFAULT 'active'
            CHECK (state IN ('published', 'ds-pending', 'active', 'retired'));
        ALTER TABLE dnssec_keys ADD COLUMN state_since REAL;
        ALTER TABLE dnssec_keys ADD COLUMN next_at REAL;
        ALTER TABLE dnssec_keys ADD COLUMN propagation REAL;
        ALTER TABLE dnssec_keys ADD COLUMN ds_ttl REAL;
        ALTER TABLE dnssec_keys ADD COLUMN parent_propagation REAL;
        """

    /// v10: the GeoIP settings of the configuration (`geoip:` of the file): one row at most, the map as the
    /// config codec's JSON (a list of `{continent|country|subdivision, region|site|location}`).
    static let v10 = """
        CREATE TABLE geoip (
            name      TEXT PRIMARY KEY NOT NULL CHECK (name = 'geoip'),
            database  TEXT NOT NULL,
            map       TEXT NOT NULL,
            version   INTEGER NOT NULL DEFAULT 1
        ) WITHOUT ROWID;
        """
}
