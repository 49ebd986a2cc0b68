import Foundation
import GSLBCore
import HealthService
import Testing

/// What a command monitor's program gets of the server: its three standard descriptors and nothing
/// else (issue 14: children inherited a connected Unix socket).
@Suite struct CommandIsolationTests {
    @Test func theProgramInheritsNoDescriptorButItsStandardOnes() async throws {
        // A connected Unix socket pair without close-on-exec, as a library of the server might leave one.
        var low: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &low) == 0)
        // Moved above any number the program could open itself (ls's directory handle takes the lowest free one).
        let pair = low.map { fcntl($0, F_DUPFD, 200) }
        low.forEach { close($0) }
        defer { close(pair[0]); close(pair[1]) }
        #expect(pair.allSatisfy { $0 >= 200 })
        // `ls -m /proc/self/fd`: the program's own descriptors on one line (its directory handle included).
        let spec = ProbeSpec(address: "127.0.0.1", port: 1,
                             monitor: Monitor(name: "fds", type: .command, timeoutMs: 5000,
                                              options: ["command": #"["/bin/ls","-m","/proc/self/fd"]"#]))
        let r = await CommandProber().probe(spec)
        #expect(r.ok, "\(r)")
        let listing = r.description.components(separatedBy: "exit status 0: ").last ?? ""
        let fds = listing.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        #expect(fds.contains(0) && fds.contains(1) && fds.contains(2), "\(r)")
        #expect(!fds.contains(Int(pair[0])) && !fds.contains(Int(pair[1])), "the socket pair leaked into the program: \(r)")
        #expect(fds.allSatisfy { $0 <= 3 }, "descriptors beyond stdin, stdout, stderr and ls's own: \(r)")
    }
}
