import Logging
import SnapshotService

/// `/v1/zones`: the served zones and their load errors; a reload on demand.
struct ZonesController: AdminController {
    let publisher: SnapshotPublisher
    let logger: Logger

    func addRoutes(to routes: AdminRoutes) {
        routes.on(.get, "/v1/zones", .read) { _ in .ok(zonesJSON(errors: publisher.lastErrors)) }
        routes.on(.post, "/v1/zones/reload", .write) { c in reloadZones(c) }
    }

    func zonesJSON(errors: [String], generation: UInt64? = nil) -> ZoneList {
        ZoneList(zones: publisher.box.load().zones.map { ZoneList.Zone(origin: $0.origin.description, serial: $0.serial, source: $0.source) },
                 errors: errors, generation: generation)
    }

    func reloadZones(_ c: AdminAPI.Call) -> AdminAPI.Reply {
        logger.info("zone reload requested through the API", metadata: ["event": "zone.reload_requested", "principal": "\(c.principal)", "request": "\(c.requestID)"])
        let report = publisher.reload()
        return .ok(zonesJSON(errors: report.errors, generation: report.generation))
    }
}
