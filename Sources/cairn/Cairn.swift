import ArgumentParser
import Foundation
import GSLBCore
import CairnDaemon

@main
struct Cairn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "Cairn: an authoritative DNS server and global server load balancer.",
        version: "cairn \(CairnVersion.current)" + (BuildCommit.hash.isEmpty ? "" : " (commit \(BuildCommit.hash))"),
        subcommands: [Serve.self, CheckZone.self, Reload.self, Apply.self, Export.self, Explain.self]
            + localCommands + apiCommands + [DrillCommand.self]
    )

    /// `cairn serve` gets the settings of the environment and of its `--config` file as flags first (`ServeSettings`).
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        if args.first == "serve" {
            do {
                args = ["serve"] + (try ServeSettings.arguments(Array(args.dropFirst()),
                                                                 environment: ProcessInfo.processInfo.environment))
            } catch {
                printError("cairn: \(error)".replacingOccurrences(of: "\n", with: "\ncairn: "))
                Foundation.exit(ExitCode.validationFailure.rawValue)
            }
        }
        main(args)
    }
}
