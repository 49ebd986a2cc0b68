/// A zone file that could not be read: where (the file of the `$INCLUDE` when the
/// error is inside one) and why, printed `file:line: message` like nsd-checkzone.
public struct ZoneFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based line of the entry at fault; 0 when the error is not about one line
    /// (a directory that cannot be listed).
    public var line: Int
    public var message: String
    /// The zone's own file when the error is in a file it includes (set by `ZoneDirectory`).
    public var zoneFile: String?

    public var description: String { "\(file):\(line): \(message)" }
}
