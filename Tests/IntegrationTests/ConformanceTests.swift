import Foundation
import Testing

/// RFC 1034 §4.3.2 and the rest, measured against NSD: the shared differential
/// tester sends every query of the public corpus to NSD and to Cairn on the
/// same zones and diffs the answers. All cases must pass.
@Suite struct ConformanceTests {
    @Test func publicCorpusMatchesNSD() throws {
        let script = Paths.fixture("scripts/conformance").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script]
        var env = ProcessInfo.processInfo.environment
        env["CAIRN_BIN"] = Paths.cairnBinary.path
        p.environment = env
        p.currentDirectoryURL = Paths.packageRoot
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let out = String(decoding: data, as: UTF8.self)
        let diffs = out.split(separator: "\n").filter { $0.hasPrefix("DIFF") }
        #expect(p.terminationStatus == 0, "conformance failed:\n\(out.suffix(6000))")
        #expect(diffs.isEmpty)
        #expect(out.contains(" passed, 0 failed"), "\(out.suffix(2000))")
    }
}
