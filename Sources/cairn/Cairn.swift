import ArgumentParser
import GSLBCore

@main
struct Cairn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "Cairn: an authoritative DNS server and global server load balancer.",
        version: "cairn \(CairnVersion.current)",
        subcommands: [Serve.self, CheckZone.self, Reload.self, Apply.self, Export.self, Explain.self]
            + localCommands + apiCommands + [DrillCommand.self]
    )
}
