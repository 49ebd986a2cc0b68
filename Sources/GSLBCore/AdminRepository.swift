/// Storage by role: each service asks for the roles it uses (the drill runner for drills,
/// overrides and audit; the API's authentication for tokens and audit), so that a service can
/// be tested on a small adapter and a backend implements one role at a time. `GSLBStore`'s
/// backends implement all of them (`AdminRepository`).
///
/// Errors they throw conform to `RepositoryFailure`, so that the API maps them to an HTTP
/// status in one place without knowing the store.

/// Reading and changing the configuration object by object (beyond what the snapshot
/// publisher reads through `ConfigRepository`).
public protocol ConfigWriteRepository: Sendable {
    func exportConfig() throws -> GSLBConfig
    /// Version of every object, keyed by its audit name (`site:fra`, `pool:NAME/A`, ...).
    func objectVersions() throws -> [String: Int64]
    /// Reads, changes (`body`) and stores the config in one transaction with its audit rows,
    /// after checking `expectedVersions` (a mismatch fails with `.conflict`, writing nothing).
    @discardableResult
    func modifyConfig(principal: String, source: String, requestID: String?, expectedVersions: [String: Int64],
                      _ body: (inout GSLBConfig) throws -> Void) throws -> ConfigWrite
    /// The audit rows replacing the whole config by `config` would write, computed by that write in a
    /// transaction that is rolled back: nothing changes.
    func previewConfig(_ config: GSLBConfig, prune: Bool) throws -> [AuditEntry]
}

/// Forced states (overrides, drains, drills' overrides), each written with its audit row.
public protocol OverrideRepository: Sendable {
    @discardableResult func addOverride(_ override: Override, audit: AuditEntry) throws -> Override
    @discardableResult func removeOverride(id: Int64, audit: AuditEntry) throws -> Override
    func activeOverrides(now: Double) throws -> [Override]
    @discardableResult func expireOverrides(now: Double, principal: String) throws -> [Override]
}

/// The audit log: rows written on their own (authentication failures, drill steps) and read back.
public protocol AuditRepository: Sendable {
    @discardableResult func audit(_ entries: [AuditEntry]) throws -> [AuditEntry]
    /// Rows oldest first; `since`/`until` bound `time` (inclusive), `limit`/`offset` page what is left.
    func listAudit(object: String?, since: Double?, until: Double?, limit: Int, offset: Int) throws -> [AuditEntry]
}

/// API tokens (only their hashes are stored).
public protocol TokenRepository: Sendable {
    func createToken(name: String, scope: TokenScope, expiresAt: Double?, principal: String,
                     source: String) throws -> (token: APIToken, secret: String)
    /// The token whose secret this is (the store keeps only hashes), or nil.
    func token(secret: String) throws -> APIToken?
    func listTokens() throws -> [APIToken]
    func deleteToken(id: Int64, principal: String, source: String, requestID: String?) throws
    func touchToken(id: Int64, at time: Double) throws
}

/// TSIG keys (RFC 8945). Secrets leave the store only inside `TSIGKey` values: to the snapshot, and once
/// to whoever created the key.
public protocol TSIGKeyRepository: Sendable {
    /// Stores a key (audited without its secret); a new random secret when `secret` is nil. `.conflict`
    /// when the name is taken, `.invalid` for a bad name or secret, or past `TSIGKey.maxCount` keys.
    func createTSIGKey(name: String, algorithm: TSIGAlgorithm, secret: [UInt8]?, principal: String, source: String,
                       requestID: String?) throws -> TSIGKey
    /// Every key by name, secrets included (callers show only names and algorithms).
    func listTSIGKeys() throws -> [TSIGKey]
    func deleteTSIGKey(name: String, principal: String, source: String, requestID: String?) throws
}

/// DNSSEC signing keys (docs/dnssec.md). Private keys leave the store only inside `DNSSECKey` values, to
/// the snapshot; every encoding of a key leaves its private key out.
public protocol DNSSECKeyRepository: Sendable {
    /// Creates the keys of `zone` (a CSK, or a KSK and a ZSK) and stores them (audited without the private
    /// keys). `.conflict` when the zone has keys, `.invalid` for a bad zone name or past `DNSSECKey.maxZones`.
    func enableDNSSEC(zone: String, algorithm: DNSSECAlgorithm, split: Bool, principal: String, source: String,
                      requestID: String?) throws -> [DNSSECKey]
    /// Every zone's keys (or `zone`'s), by zone, KSKs/CSKs first.
    func listDNSSECKeys(zone: String?) throws -> [DNSSECKey]
    /// Removes the zone's keys (audited): its answers are no longer signed. `.notFound` when it has none.
    func disableDNSSEC(zone: String, principal: String, source: String, requestID: String?) throws
}

/// DNSSEC key rollovers (docs/dnssec.md "Key rollover"): started by an operator, advanced by any node's
/// rollover task, the parent's step confirmed by an operator.
public protocol DNSSECRolloverRepository: Sendable {
    /// Starts a rollover of the zone's ZSK (`ksk` false) or of its KSK or CSK: a new key, `published`.
    /// `.notFound` when the zone is not signed, `.conflict` while a rollover runs or for a ZSK rollover of a CSK zone.
    func startRollover(zone: String, ksk: Bool, delays: RolloverDelays, principal: String, source: String,
                       requestID: String?) throws -> DNSSECKey
    /// The parent has the new DS: the `ds-pending` key becomes active, the old one retired. Returns the zone's keys.
    /// `.conflict` when no key waits for its DS.
    func confirmDS(zone: String, principal: String, source: String, requestID: String?) throws -> [DNSSECKey]
    /// Takes the steps due at `now` among `keys` (the snapshot's; read again from the store before writing),
    /// `ttls` giving each served zone's TTLs; records each waiting key's next step time. A line per step taken.
    func advanceRollovers(keys: [DNSSECKey], ttls: (String) -> ZoneTTLs?, now: Double) throws -> [String]
}

/// Drill reports, saved as a drill goes.
public protocol DrillRepository: Sendable {
    func saveDrill(_ report: DrillReport, audit: [AuditEntry]) throws
    func drill(id: String) throws -> DrillReport?
    func listDrills(limit: Int) throws -> [DrillReport]
    /// Scheduled, running or restoring drills.
    func unfinishedDrills() throws -> [DrillReport]
    /// Takes or renews the lease `name` for `holder` until `now + ttl` when it is free, expired or already
    /// `holder`'s; returns who holds it now.
    func acquireLease(_ name: String, holder: String, now: Double, ttl: Double) throws -> String
}

extension DrillRepository {
    /// One process: always the holder.
    public func acquireLease(_ name: String, holder: String, now: Double, ttl: Double) throws -> String { holder }
}

/// Every role: what the admin API is given (`GSLBStore`'s backends implement it).
public protocol AdminRepository: ConfigRepository, ConfigWriteRepository, OverrideRepository, AuditRepository,
                                 TokenRepository, TSIGKeyRepository, DNSSECKeyRepository, DNSSECRolloverRepository,
                                 DrillRepository {}

/// What a config write did, read inside its transaction: its audit rows, and the config and object versions
/// right after it (so that the ETag a writer gets is the version its own write made, not a later writer's).
public struct ConfigWrite: Sendable {
    public var audit: [AuditEntry]
    public var config: GSLBConfig
    public var versions: [String: Int64]
    public init(audit: [AuditEntry], config: GSLBConfig, versions: [String: Int64]) {
        self.audit = audit; self.config = config; self.versions = versions
    }
}

/// The kinds of storage failure a caller must tell apart.
public enum RepositoryFailureKind: String, Sendable {
    /// The input cannot be stored (duplicate keys, constraint): a client error.
    case invalid
    case notFound
    /// Optimistic concurrency or a conflicting object.
    case conflict
    /// The storage itself failed (I/O, corrupt file, newer schema): a server error.
    case unavailable
}

public protocol RepositoryFailure: Error {
    var failureKind: RepositoryFailureKind { get }
    var failureMessage: String { get }
    /// The object concerned, named as in the audit log, when there is one.
    var failureObject: String? { get }
}

/// How objects are named in the audit log, in `objectVersions` (so in the API's ETags) and in `StoreError.object`.
public enum ObjectName {
    public static func site(_ name: String) -> String { "site:\(name)" }
    public static func monitor(_ name: String) -> String { "monitor:\(name)" }
    public static func pool(_ name: String, _ type: String) -> String { "pool:\(name)/\(type)" }
    public static func member(_ pool: String, _ type: String, _ address: String) -> String { "member:\(pool)/\(type)/\(address)" }
    public static func topology(_ network: String) -> String { "topology:\(network)" }
    /// The `geoip` section (one object).
    public static let geoip = "geoip"
    public static func override(_ id: Int64) -> String { "override:\(id)" }
    public static func tsigKey(_ name: String) -> String { "tsig-key:\(name)" }
    public static func dnssec(_ zone: String) -> String { "dnssec:\(zone)" }
    /// A whole collection's version (`topology`: bumped by any change to any entry).
    public static func collection(_ name: String) -> String { name }
    public static let topologyTable = collection("topology")
}
