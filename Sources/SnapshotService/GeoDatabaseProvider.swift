import GSLBCore

/// Opens the GeoIP database a configuration names and notices when its file changes (`GeoIP.GeoDatabaseSource`).
/// Called by the publisher off the query path (each store poll): opening a new file never blocks a query, and
/// the old database stays open while a snapshot refers to it.
public protocol GeoDatabaseProvider: Sendable {
    /// The database to serve for `config`: the one open now, a new one when the file changed and opens, the last
    /// good one when it does not; nil when there is none (no `geoip`, or never opened).
    func database(for config: GeoIPConfig?) -> GeoDatabaseRef?
}
