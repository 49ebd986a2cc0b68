import Foundation
import Testing

/// The test support's own bounds: a child that hangs fails its test instead of holding the whole run.
struct SupportTests {
    @Test func aProgramStillRunningAtItsLimitIsKilledAndTheOutputSaysSo() throws {
        let (status, out) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/bin/sh"), ["-c", "echo begun; sleep 30"], limit: 1)
        #expect(status == 137, "\(out)")   // `sleep 30` would have ended with 0
        #expect(out.hasPrefix("begun\n") && out.contains("[killed: sh -c echo begun; sleep 30 ran past 1.0 s]"), "\(out)")
    }
}
