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
}
