import GSLBCore

/// Where a node keeps the last state it served (configuration, overrides and health), so that it can start and
/// answer while its store is away (`cairn serve --store-cache`).
public protocol StateCache: Sendable {
    /// Replaces the cached state (atomically: a reader finds the old one or the new one, never a part).
    func save(_ state: GSLBState)
    /// The cached state and when it was saved (seconds since the epoch), or nil when there is none usable.
    func load() -> (state: GSLBState, savedAt: Double)?
}
