import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
@Suite struct DrillTests {
    func report(_ id: String, createdAt: Double, status: DrillReport.Status) -> DrillReport {
        var r = DrillReport(id: id, target: DrillTarget(scope: .site, name: "fra"), mode: "run", hold: 60, force: false,
                            principal: "alice", createdAt: createdAt)
        r.status = status
        return r
    }

    @Test(arguments: Backend.allCases) func drillsAreSavedReplacedListedNewestFirstAndAudited(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        try store.saveDrill(report("d1", createdAt: 100, status: .completed), audit: [])
        try store.saveDrill(report("d2", createdAt: 300, status: .running),
                            audit: [AuditEntry(time: 300, principal: "alice", source: "api", action: "drill-start", object: "drill:d2")])
        try store.saveDrill(report("d3", createdAt: 200, status: .scheduled), audit: [])
        #expect(try store.listDrills(limit: 10).map(\.id) == ["d2", "d3", "d1"])
        #expect(try store.listDrills(limit: 2).map(\.id) == ["d2", "d3"])
        #expect(try store.unfinishedDrills().map(\.id) == ["d3", "d2"])
        #expect(try store.drill(id: "d2")?.status == .running)
        #expect(try store.drill(id: "nope") == nil)
        // Saving again replaces the row.
        try store.saveDrill(report("d2", createdAt: 300, status: .completed), audit: [])
        #expect(try store.drill(id: "d2")?.status == .completed)
        #expect(try store.unfinishedDrills().map(\.id) == ["d3"])
        #expect(try store.listAudit(object: "drill:d2").map(\.action) == ["drill-start"])
    }
}
}
