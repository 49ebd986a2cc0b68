import Foundation
import Testing

/// `cairn check-zone`: nsd-checkzone-style `file:line: reason` and exit status.
@Suite struct CheckZoneTests {
    @Test func theExampleZoneChecksClean() throws {
        let (rc, out) = try CairnProcess.run(["check-zone", Paths.fixture("zones/example.com.zone").path])
        #expect(rc == 0, "\(out)")
        #expect(out.contains("0 errors"))
    }

    @Test func aBrokenZoneNamesFileLineAndReasonAndFails() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("broken.test.zone").path
        try """
        $ORIGIN broken.test.
        $TTL 300
        @     IN SOA ns hostmaster 1 3600 600 86400 60
        @     IN NS  ns
        ns    IN A   192.0.2.1
        alias IN CNAME ns
        alias IN A   192.0.2.2
        """.write(toFile: f, atomically: true, encoding: .utf8)
        let (rc, out) = try CairnProcess.run(["check-zone", f])
        #expect(rc != 0)
        #expect(out.contains("broken.test.zone:7:") || out.contains("broken.test.zone:6:"), "\(out)")
        #expect(out.lowercased().contains("cname"), "\(out)")
        let syntax = dir.appendingPathComponent("syntax.test.zone").path
        try "$ORIGIN syntax.test.\n@ 300 IN SOA ns hostmaster 1 2 3 4 5\n@ IN NS ns\nns IN A 192.0.2.999\n".write(toFile: syntax, atomically: true, encoding: .utf8)
        let (rc2, out2) = try CairnProcess.run(["check-zone", syntax])
        #expect(rc2 != 0)
        #expect(out2.contains("syntax.test.zone:4:"), "\(out2)")
    }

    /// Every problem of a file in one run, as nsd-checkzone and kzonecheck report them: two records that do not
    /// parse and a semantic error after them (before, the run stopped at the first bad record). A file of bad
    /// records stops after `MasterFileReader.maxErrors` (100) of them.
    @Test func everyProblemOfAFileIsReportedInOneRun() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("typos.test.zone").path
        try """
        $ORIGIN typos.test.
        $TTL 300
        @     IN SOA ns hostmaster 1 3600 600 86400 60
        www   IN A   192.0.2.300
        @     IN NS  ns
        mail  IN MX  ten mail
        ns    IN A   192.0.2.1
        alias IN CNAME ns
        alias IN TXT "other data"
        """.write(toFile: f, atomically: true, encoding: .utf8)
        let (rc, out) = try CairnProcess.run(["check-zone", f])
        #expect(rc == 1, "\(out)")
        #expect(out.contains("typos.test.zone:4: error:"), "\(out)")
        #expect(out.contains("typos.test.zone:6: error:"), "\(out)")
        #expect(out.lowercased().contains("cname"), "\(out)")
        #expect(out.contains("3 errors"), "\(out)")
        // The same as one JSON document.
        let (rcJSON, json) = try CairnProcess.run(["check-zone", "--json", f])
        #expect(rcJSON == 1)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "\(json)")
        let file = try #require((doc["files"] as? [[String: Any]])?.first)
        #expect(file["zone"] as? String == "typos.test." && file["errors"] as? Int == 3 && file["serial"] as? Int == 1, "\(file)")
        let problems = file["problems"] as? [[String: Any]] ?? []
        #expect(problems.map { $0["line"] as? Int ?? 0 }.sorted().prefix(2) == [4, 6], "\(problems)")
        #expect(problems.filter { $0["rule"] as? String == "syntax" }.count == 2, "\(problems)")
        #expect(problems.contains { $0["rule"] as? String == "cnameAndOtherData" && $0["level"] as? String == "error" }, "\(problems)")

        let many = dir.appendingPathComponent("many.test.zone").path
        try ("$ORIGIN many.test.\n@ 300 IN SOA ns hostmaster 1 2 3 4 5\n@ IN NS ns\nns IN A 192.0.2.1\n"
             + (1...150).map { "h\($0) IN A 192.0.2.\(300 + $0)\n" }.joined())
            .write(toFile: many, atomically: true, encoding: .utf8)
        let (rc2, out2) = try CairnProcess.run(["check-zone", many])
        #expect(rc2 == 1)
        #expect(out2.components(separatedBy: ": error: ").count - 1 == 101, "\(out2.suffix(400))")
        #expect(out2.contains("stopped after 100 errors"), "\(out2.suffix(400))")
    }

    /// `cairn check-zone FILE` confines `$INCLUDE` to the directory of FILE and reads
    /// regular files only: before, `$INCLUDE /dev/zero` grew it to 1.1 GB.
    @Test func devZeroIsRefusedQuicklyAsZoneFileAndAsInclude() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("zero.test.zone").path
        try "$ORIGIN zero.test.\n@ 300 IN SOA ns hostmaster 1 2 3 4 5\n@ IN NS ns\nns IN A 192.0.2.1\n$INCLUDE /dev/zero\n"
            .write(toFile: f, atomically: true, encoding: .utf8)
        for args in [["check-zone", "/dev/zero"], ["check-zone", f]] {
            let (rc, out, took) = try CairnProcess.run(args, timeout: 10)
            #expect(rc != nil, "\(args) still running after 10 s")
            #expect(rc != 0, "\(args): \(out)")
            #expect(took < 5, "\(args) took \(took) s")
            #expect(out.contains("not a regular file") || out.contains("outside the zone directory"), "\(args): \(out)")
        }
    }

    @Test func anIncludeOutsideTheFilesDirectoryIsRefusedWithoutItsContent() throws {
        let dir = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let zones = dir.appendingPathComponent("zones")
        try FileManager.default.createDirectory(at: zones, withIntermediateDirectories: true)
        let marker = "cairn-secret-\(UUID().uuidString)"
        let secret = dir.appendingPathComponent("secret").path
        try "\(marker)\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let f = zones.appendingPathComponent("esc.test.zone").path
        for target in [secret, "../secret"] {
            try "$ORIGIN esc.test.\n@ 300 IN SOA ns hostmaster 1 2 3 4 5\n@ IN NS ns\nns IN A 192.0.2.1\n$INCLUDE \(target)\n"
                .write(toFile: f, atomically: true, encoding: .utf8)
            let (rc, out) = try CairnProcess.run(["check-zone", f])
            #expect(rc != 0, "\(out)")
            #expect(out.contains("esc.test.zone:5:"), "\(out)")
            #expect(out.contains("outside the zone directory"), "\(out)")
            #expect(!out.contains(marker), "\(out)")
        }
    }
}
