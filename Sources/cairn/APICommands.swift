import ArgumentParser

/// The commands that call the admin API (`cairn site|pool|member|...`).
let apiCommands: [any ParsableCommand.Type] = []
