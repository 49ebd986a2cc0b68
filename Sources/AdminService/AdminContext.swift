import Hummingbird

/// Per-request context: Hummingbird's core storage plus the client address.
public struct AdminContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remote: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remote = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Bodies over 1 MiB are refused with 413.
    public var maxUploadSize: Int { 1 << 20 }
}
