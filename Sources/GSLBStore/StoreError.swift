/// The one error type of `GSLBStore`: a code for the caller (the API maps it to an HTTP
/// status in one place), a message for people, and the object concerned when there is one.
public struct StoreError: Error, CustomStringConvertible, Hashable, Sendable {
    public enum Code: String, Hashable, Sendable {
        /// The file was written by a newer Cairn: it has migrations this binary does not know.
        case schemaTooNew = "schema-too-new"
        /// The file cannot be created or opened (permissions, not a SQLite file, ...).
        case cannotOpen = "cannot-open"
        /// A foreign key, uniqueness or check constraint rejected the write. Nothing was written.
        case constraint
        /// The input cannot be stored as given (duplicate keys, non-finite numbers). Nothing was written.
        case invalid
        /// The object does not exist.
        case notFound = "not-found"
        /// Optimistic concurrency: the stored version is not the expected one. Nothing was written.
        case conflict
        /// Any other database error.
        case database
    }

    public var code: Code
    public var message: String
    /// The object concerned, named as in the audit log (`site:fra`, `pool:www.example.com./A`).
    public var object: String?

    public init(_ code: Code, _ message: String, object: String? = nil) {
        self.code = code; self.message = message; self.object = object
    }

    public var description: String {
        if let object { return "store: \(code.rawValue): \(object): \(message)" }
        return "store: \(code.rawValue): \(message)"
    }

    /// The file has applied migrations (`found`) that this binary does not know (`known`).
    public static func schemaTooNew(found: [String], known: [String]) -> StoreError {
        StoreError(.schemaTooNew,
                   "the database was migrated by a newer Cairn (unknown migrations: \(found.joined(separator: ", ")); "
                   + "this binary knows: \(known.joined(separator: ", "))). Upgrade cairn, or restore a backup made by this version.")
    }

    init(_ error: SQLError, doing what: String, object: String? = nil) {
        switch error.kind {
        case .constraint, .foreignKey: self.init(.constraint, "\(what): \(error.message)", object: object)
        case .cannotOpen: self.init(.cannotOpen, "\(what): \(error.message)", object: object)
        case .other: self.init(.database, "\(what): \(error.message)", object: object)
        }
    }
}

/// Runs `body`, turning the backends' errors into `StoreError` (the module's boundary).
func mapErrors<T>(_ what: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as SQLError {
        throw StoreError(error, doing: what)
    }
}
