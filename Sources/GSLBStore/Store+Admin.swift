import GSLBCore

extension Store: AdminRepository {}

extension StoreError: RepositoryFailure {
    public var failureKind: RepositoryFailureKind {
        switch code {
        case .invalid, .constraint: return .invalid
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .schemaTooNew, .cannotOpen, .database: return .unavailable
        }
    }
    public var failureMessage: String { message }
    public var failureObject: String? { object }
}
