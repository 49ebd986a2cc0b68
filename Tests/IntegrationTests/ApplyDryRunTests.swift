import Foundation
import Testing

/// `cairn apply --dry-run`: the change set the apply would make, computed by the apply itself in a
/// transaction that is rolled back, and nothing changed.
@Suite struct ApplyDryRunTests {
    @Test func dryRunShowsCreatesUpdatesWithOldAndNewAndDeletionsThatStopAnswersFirstAndChangesNothing() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("cairn.sqlite").path
        let zones = Paths.fixture("zones").path
        let example = try String(contentsOf: Paths.fixture("examples/gslb.yaml"), encoding: .utf8)
        let file = dir.appendingPathComponent("gslb.yaml")
        try example.write(to: file, atomically: true, encoding: .utf8)

        // A dry run against a store that does not exist: everything would be created, and no file appears.
        var (rc, out) = try CairnProcess.run(["apply", "--dry-run", "-f", file.path, "--db", db, "--zones", zones])
        #expect(rc == 0, "\(out)")
        #expect(out.contains("create site:fra") && out.contains("create pool:api.example.com./A"), "\(out)")
        #expect(out.contains("12 change(s) would be applied (dry run: nothing changed)"), "\(out)")
        #expect(!FileManager.default.fileExists(atPath: db), "a dry run created the store")

        (rc, out) = try CairnProcess.run(["apply", "-f", file.path, "--db", db, "--zones", zones])
        #expect(rc == 0, "\(out)")
        let exported = try CairnProcess.run(["export", "--db", db]).1

        // fra's capacity changes, the api pool is gone from the file.
        var changed = example.replacingOccurrences(of: "capacity: 1000}", with: "capacity: 1200}")
        let start = try #require(changed.range(of: "  # Spread by weight"))
        let end = try #require(changed.range(of: "# Client networks"))
        changed.removeSubrange(start.lowerBound..<end.lowerBound)
        try changed.write(to: file, atomically: true, encoding: .utf8)
        (rc, out) = try CairnProcess.run(["apply", "--dry-run", "-f", file.path, "--db", db, "--zones", zones])
        #expect(rc == 0, "\(out)")
        let lines = out.split(separator: "\n").map(String.init)
        let changes = lines.filter { $0.hasPrefix("create ") || $0.hasPrefix("update ") || $0.hasPrefix("delete ") }
        // the deletion that stops answers comes first, then the rest
        #expect(changes.first?.hasPrefix("delete pool:api.example.com./A (stops answering)") == true, "\(out)")
        #expect(changes.contains("update site:fra: capacity 1000 → 1200"), "\(out)")
        #expect(try CairnProcess.run(["export", "--db", db]).1 == exported, "a dry run changed the store")

        // --json: the same change set
        (rc, out) = try CairnProcess.run(["apply", "--dry-run", "--json", "-f", file.path, "--db", db, "--zones", zones])
        #expect(rc == 0, "\(out)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let list = try #require(doc["changes"] as? [[String: Any]])
        #expect(list.first?["removes_answers"] as? Bool == true)
        let update = try #require(list.first { $0["object"] as? String == "site:fra" })
        #expect((update["fields"] as? [[String: Any]])?.first?["new"] as? Int == 1200)

        // apply --json: what was applied, in the same shape; a file with errors: every error, each at its place
        (rc, out) = try CairnProcess.run(["apply", "--json", "-f", file.path, "--db", db, "--zones", zones])
        let applied = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(out)")
        #expect(rc == 0 && applied["applied"] as? Bool == true && (applied["changes"] as? [Any])?.count == list.count, "\(out)")
        try "sites:\n  - {name: fra, regoin: eu}\n  - {name: iad, capacity: -5}\n".write(to: file, atomically: true, encoding: .utf8)
        (rc, out) = try CairnProcess.run(["apply", "--json", "-f", file.path, "--db", db, "--zones", zones])
        let refused = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(out)")
        #expect(rc == 1 && refused["valid"] as? Bool == false && (refused["errors"] as? [[String: Any]])?.count ?? 0 >= 2, "\(out)")
        try changed.write(to: file, atomically: true, encoding: .utf8)

        // token list --json: the API's shape, never a secret
        _ = try CairnProcess.run(["token", "create", "--scope", "read", "--name", "ci", "--db", db])
        (rc, out) = try CairnProcess.run(["token", "list", "--json", "--db", db])
        let tokens = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(out)")
        #expect((tokens["tokens"] as? [[String: Any]])?.first?["name"] as? String == "ci" && !out.contains("cairn_"), "\(out)")

        // --no-prune: nothing is deleted
        (rc, out) = try CairnProcess.run(["apply", "--dry-run", "--no-prune", "-f", file.path, "--db", db, "--zones", zones])
        #expect(!out.contains("delete "), "\(out)")
    }

    /// The API's preview: the same change set, 422 naming the first problem of a bad configuration, and
    /// nothing changed either way.
    @Test func theAPIPreviewsAWholeConfigurationAndChangesNothing() throws {
        let s = try AdminAPITests.start()
        defer { s.process.stop(); try? FileManager.default.removeItem(at: s.env.dir) }
        let before = try s.state()
        let body = #"{"sites":[{"name":"fra","region":"eu","capacity":7}]}"#
        let r = try s.call("POST", "/v1/config/preview?prune=false", token: s.write, body: body)
        #expect(r.status == 200, "\(r.body)")
        let changes = r.object["changes"] as? [[String: Any]] ?? []
        #expect(changes.count == 1 && changes.first?["object"] as? String == "site:fra", "\(r.body)")
        // with prune (the default) everything the body does not name would go, pools first
        let pruned = try s.call("POST", "/v1/config/preview", token: s.write, body: body)
        let first = (pruned.object["changes"] as? [[String: Any]])?.first
        #expect(first?["action"] as? String == "delete" && first?["removes_answers"] as? Bool == true, "\(pruned.body)")
        let bad = try s.call("POST", "/v1/config/preview", token: s.write, body: #"{"sites":[{"name":"fra","regoin":"eu"}]}"#)
        #expect(bad.status == 422 && bad.field == "sites[0].regoin", "\(bad.body)")
        #expect(try s.call("POST", "/v1/config/preview?prune=maybe", token: s.write, body: body).status == 400)
        #expect(try s.state() == before)
    }

    /// Commands that only read a store refuse a missing one (`cd elsewhere; cairn backup b.sqlite` used to
    /// create an empty store and report a backup of it); those that may create one say where, absolutely.
    @Test func readingCommandsRefuseAMissingStoreAndCreatingOnesSayWhere() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("nowhere.sqlite").path
        for args in [["backup", dir.appendingPathComponent("b.sqlite").path, "--db", db], ["export", "--db", db],
                     ["token", "list", "--db", db], ["tsig", "list", "--db", db],
                     ["explain", "www.example.com.", "--db", db, "--zones", Paths.fixture("zones").path],
                     ["store", "copy", "sqlite:" + db, "sqlite:" + dir.appendingPathComponent("c.sqlite").path]] {
            let (rc, out) = try CairnProcess.run(args)
            #expect(rc == 1 && out.contains("no store at \(db)"), "cairn \(args.joined(separator: " ")): \(rc) \(out)")
            #expect(!out.contains("Usage:"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "a reading command created a file")
        let (rc, out) = try CairnProcess.run(["token", "create", "--scope", "read", "--db", db])
        #expect(rc == 0 && out.contains("cairn: created a new, empty store at \(db)"), "\(out)")
        let (rc2, out2) = try CairnProcess.run(["token", "create", "--scope", "read", "--db", db])
        #expect(rc2 == 0 && !out2.contains("created a new"), "\(out2)")
    }
}
