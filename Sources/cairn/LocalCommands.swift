import ArgumentParser

/// Commands that work on the SQLite file directly (before or without a server).
let localCommands: [any ParsableCommand.Type] = []
