import DNSWire
import Foundation
import GSLBCore
import Testing
@testable import ZoneFiles

/// `$INCLUDE` reads only regular files inside the zone directory (the real path of the
/// directory of the zone file; `ZoneDirectory` passes the `--zones` directory), each at
/// most `ZoneFileLoader.maxFileBytes`, and never quotes a refused or included file's
/// content in an error: the errors reach `GET /v1/zones`, readable with a `read` token.
@Suite struct IncludeConfinementTests {
    /// One bad fixture per rule (zone under `include/zones/`, line of the `$INCLUDE` or of the error).
    typealias Case = BrokenZoneFixture

    static let cases: [Case] = [
        Case(file: "include/zones/dotdot-escape.zone", at: "include/zones/dotdot-escape.zone:6", reason: "outside the zone directory"),
        Case(file: "include/zones/absolute-device.zone", at: "include/zones/absolute-device.zone:6", reason: "outside the zone directory"),
        Case(file: "include/zones/directory.zone", at: "include/zones/directory.zone:6", reason: "not a regular file"),
        Case(file: "include/zones/error-in-include.zone", at: "include/zones/sub/bad.inc:2", reason: "cannot parse A record"),
    ]

    /// Strings of the fixtures that must never appear in an error.
    static let secrets = ["cairn-fixture-secret-outside-the-zones-directory", "cairn-fixture-secret-in-include"]

    static func failure(_ path: String) -> ZoneFileError? {
        do {
            _ = try ZoneFileLoader.load(path: path, origin: nil)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: cases)
    func refusedIncludeIsReportedAtItsLineWithoutTheFileContent(_ c: Case) throws {
        let error = try #require(Self.failure(FixtureFiles.path(c.file)), "\(c.file) loaded")
        #expect(error.description.hasPrefix(FixtureFiles.path(c.at) + ": "), "\(error)")
        #expect(error.message.contains(c.reason), "\(error)")
        for s in Self.secrets { #expect(!error.description.contains(s), "\(error)") }
    }

    @Test func includeInsideTheDirectoryLoads() throws {
        let zone = try ZoneFileLoader.load(path: FixtureFiles.path("include/zones/inside.zone"), origin: nil)
        #expect(zone.index(of: "www.inc.example.", .a) != nil)
    }

    /// A temporary `zones/` directory with a secret file beside it (outside).
    struct Layout {
        let top: String
        var zones: String { top + "/zones" }
        var secret: String { top + "/secret.txt" }
        let marker = "cairn-secret-marker-\(UUID().uuidString)"

        init() throws {
            top = FileManager.default.temporaryDirectory.appendingPathComponent("zf-include-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: top + "/zones", withIntermediateDirectories: true)
            try (marker + "\n").write(toFile: top + "/secret.txt", atomically: true, encoding: .utf8)
        }

        func zone(_ name: String, including target: String) throws -> String {
            let path = zones + "/" + name
            try """
            $ORIGIN \(name.dropLast(5)).
            @ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300
            @ 3600 IN NS ns1
            ns1 3600 IN A 192.0.2.1
            $INCLUDE "\(target)"

            """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        func cleanUp() { try? FileManager.default.removeItem(atPath: top) }
    }

    @Test func absoluteIncludeOutsideTheDirectoryIsRefusedWithoutItsContent() throws {
        let t = try Layout()
        defer { t.cleanUp() }
        let path = try t.zone("abs.example.zone", including: t.secret)
        let error = try #require(Self.failure(path), "an include of \(t.secret) loaded")
        #expect(error.line == 5, "\(error)")
        #expect(error.message.contains("outside the zone directory"), "\(error)")
        #expect(!error.description.contains(t.marker), "\(error)")
        // The same through the directory loader that the server and `GET /v1/zones` use.
        let report = ZoneDirectory.report(directory: t.zones)
        #expect(report.zones.isEmpty)
        #expect(report.errors.count == 1)
        #expect(!report.errors.map(\.description).joined().contains(t.marker), "\(report.errors)")
    }

    @Test func symlinkInsideTheDirectoryPointingOutsideIsRefused() throws {
        let t = try Layout()
        defer { t.cleanUp() }
        try FileManager.default.createSymbolicLink(atPath: t.zones + "/link.inc", withDestinationPath: t.secret)
        try FileManager.default.createSymbolicLink(atPath: t.zones + "/zero.inc", withDestinationPath: "/dev/zero")
        for link in ["link.inc", "zero.inc"] {
            let path = try t.zone("sym.example.zone", including: link)
            let error = try #require(Self.failure(path), "an include of \(link) loaded")
            #expect(error.message.contains("outside the zone directory"), "\(error)")
            #expect(!error.description.contains(t.marker), "\(error)")
        }
    }

    /// A zone file of the directory may be a symlink to elsewhere (the operator's choice):
    /// it is read, but its errors quote nothing of it.
    @Test func zoneFileLinkedFromOutsideIsNotQuoted() throws {
        let t = try Layout()
        defer { t.cleanUp() }
        try FileManager.default.createSymbolicLink(atPath: t.zones + "/linked.example.zone", withDestinationPath: t.secret)
        let report = ZoneDirectory.report(directory: t.zones)
        #expect(report.zones.isEmpty)
        #expect(report.errors.first?.message == "missing type", "\(report.errors)")
        #expect(!report.errors.map(\.description).joined().contains(t.marker), "\(report.errors)")
    }

    @Test func symlinkInsideTheDirectoryPointingInsideLoads() throws {
        let t = try Layout()
        defer { t.cleanUp() }
        try "www 3600 IN A 192.0.2.80\n".write(toFile: t.zones + "/real.inc", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: t.zones + "/link.inc", withDestinationPath: "real.inc")
        let zone = try ZoneFileLoader.load(path: try t.zone("in.example.zone", including: "link.inc"), origin: nil)
        #expect(zone.index(of: "www.in.example.", .a) != nil)
    }

    /// A FIFO would block `fopen` until a writer comes: refused before it is opened.
    @Test func fifoInsideTheDirectoryIsRefusedWithoutBlocking() throws {
        let t = try Layout()
        defer { t.cleanUp() }
        let fifo = t.zones + "/pipe.inc"
        #expect(mkfifo(fifo, 0o600) == 0)
        let path = try t.zone("fifo.example.zone", including: "pipe.inc")
        let result = LoadInBackground(path)
        if !result.wait(seconds: 5) {
            Issue.record("loading a zone that includes a FIFO did not finish in 5 s")
            // Unblock the reader: a writer that closes at once gives it end of file.
            let fd = open(fifo, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
            _ = result.wait(seconds: 5)
            return
        }
        let error = try #require(result.error, "a FIFO was included")
        #expect(error.message.contains("not a regular file"), "\(error)")
    }

    @Test func zoneFileThatIsADeviceIsRefusedQuickly() throws {
        let result = LoadInBackground("/dev/zero")
        #expect(result.wait(seconds: 5), "loading /dev/zero did not finish in 5 s")
        let error = try #require(result.error, "/dev/zero loaded")
        #expect(error.message.contains("not a regular file"), "\(error)")
    }

    @Test func includeLargerThanTheLimitIsRefusedUnread() throws {
        let t = try Layout()
        defer { t.cleanUp() }
        // Sparse: as large as it says, without using the disk.
        let big = t.zones + "/big.inc"
        let fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        #expect(ftruncate(fd, off_t(ZoneFileLoader.maxFileBytes + 1)) == 0)
        close(fd)
        let path = try t.zone("big.example.zone", including: "big.inc")
        let start = Date()
        let error = try #require(Self.failure(path), "an include above the limit loaded")
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(error.line == 5, "\(error)")
        #expect(error.message.contains("larger than"), "\(error)")
    }

    @Test func zoneFileLargerThanTheLimitIsRefusedUnread() throws {
        let t = try Layout()
        defer { t.cleanUp() }
        let big = t.zones + "/big.example.zone"
        let fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        #expect(ftruncate(fd, off_t(ZoneFileLoader.maxFileBytes + 1)) == 0)
        close(fd)
        let error = try #require(Self.failure(big), "a zone file above the limit loaded")
        #expect(error.message.contains("larger than"), "\(error)")
    }

    /// The same small file included again and again: each is under the per-file limit,
    /// together they pass the zone's.
    @Test func includesAddingUpPastTheZoneLimitAreRefused() throws {
        let t = try Layout()
        defer { t.cleanUp() }
        try String(repeating: "www 3600 IN A 192.0.2.80\n", count: 40).write(toFile: t.zones + "/www.inc", atomically: true, encoding: .utf8)
        let path = t.zones + "/many.example.zone"
        try ("$ORIGIN many.example.\n@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ 3600 IN NS ns1\n"
            + String(repeating: "$INCLUDE www.inc\n", count: 10)).write(toFile: path, atomically: true, encoding: .utf8)
        let limits = ZoneFileLoader.Limits(maxFileBytes: 4096, maxZoneBytes: 4096)
        do {
            _ = try ZoneFileLoader.load(path: path, origin: nil, limits: limits)
            Issue.record("10 includes of 1 KB loaded under a 4 KB zone limit")
        } catch {
            #expect(error.message.contains("more than 4096 octets"), "\(error)")
            #expect(error.line >= 4 && error.line <= 13, "\(error)")
        }
        // Within the limits, the same zone loads.
        let zone = try ZoneFileLoader.load(path: path, origin: nil)
        #expect(zone.records.count == 2 + 400)
    }

    @Test func includeRootIsTheDirectoryGiven() throws {
        // `ZoneDirectory` confines to the directory it lists; a file in it may include
        // from a subdirectory, and nothing from beside the directory.
        let t = try Layout()
        defer { t.cleanUp() }
        try FileManager.default.createDirectory(atPath: t.zones + "/inc", withIntermediateDirectories: true)
        try "www 3600 IN A 192.0.2.80\n".write(toFile: t.zones + "/inc/www.inc", atomically: true, encoding: .utf8)
        _ = try t.zone("ok.example.zone", including: "inc/www.inc")
        _ = try t.zone("bad.example.zone", including: "../secret.txt")
        let report = ZoneDirectory.report(directory: t.zones)
        #expect(report.zones.map(\.origin.description) == ["ok.example."])
        #expect(report.errors.count == 1)
        #expect(report.errors.first?.message.contains("outside the zone directory") == true, "\(report.errors)")
        #expect(!report.errors.map(\.description).joined().contains(t.marker))
    }
}

/// Runs `ZoneFileLoader.load` on a thread of its own, so that a test can give up on a
/// load that blocks (a FIFO) or never ends (a device) instead of hanging.
final class LoadInBackground: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _error: ZoneFileError?

    init(_ path: String) {
        Thread.detachNewThread { [self] in
            do throws(ZoneFileError) {
                _ = try ZoneFileLoader.load(path: path, origin: nil)
            } catch {
                lock.withLock { _error = error }
            }
            done.signal()
        }
    }

    var error: ZoneFileError? { lock.withLock { _error } }

    func wait(seconds: Double) -> Bool { done.wait(timeout: .now() + seconds) == .success }
}
