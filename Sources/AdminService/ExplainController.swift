import DNSWire
import Foundation
import GSLBCore
import SnapshotService

/// `/v1/explain`: why a name answers what it does for a client, from the served snapshot.
struct ExplainController: AdminController {
    let publisher: SnapshotPublisher

    func addRoutes(to routes: AdminRoutes) {
        routes.on(.get, "/v1/explain", .read) { c in try explain(c) }
    }

    func explain(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        guard let rawName = c.query("name"), !rawName.isEmpty else { throw APIError.badRequest("name", "required: the name asked") }
        let typeText = (c.query("type") ?? "A").uppercased()
        guard let t = RecordType(name: typeText), t == .a || t == .aaaa || t == .cname else { throw APIError.badRequest("type", "expected A, AAAA or CNAME") }
        let clientText = c.query("client") ?? c.context.remote
        guard let client = ClientAddress(text: clientText) else { throw APIError.badRequest("client", "not an IP address: \(clientText)") }
        var subnet: CIDR?
        if let e = c.query("ecs"), !e.isEmpty {
            guard let s = CIDR(e) else { throw APIError.badRequest("ecs", "expected ADDRESS/PREFIX") }
            subnet = CIDR(address: s.address, prefix: s.prefix)
        }
        let qname: DomainName
        do { qname = try DomainName(rawName.hasSuffix(".") ? rawName : rawName + ".") } catch {
            throw APIError.badRequest("name", "not a domain name: \(error)")
        }
        let ex = publisher.box.load().explain(name: qname, type: t, client: client, ecs: subnet)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return AdminAPI.Reply(status: .ok, text: String(decoding: try enc.encode(ex), as: UTF8.self) + "\n")
    }
}
