import GSLBCore

/// Everything `ZoneDirectory.report(directory:)` found: the zones fit to serve, and
/// the reasons the others were left out.
public struct ZoneDirectoryReport: Sendable {
    /// Zones that loaded without error, sorted by file name, duplicates removed.
    public var zones: [ZoneContent]
    /// Syntax errors and check errors: each leaves its zone out.
    public var errors: [ZoneFileError]
    /// Check warnings of the zones (served anyway).
    public var warnings: [ZoneDiagnostic]
    /// False when the directory itself could not be listed: then nothing is known about which zones exist.
    public var listed = true
}
