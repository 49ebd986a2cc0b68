/// Every way bytes on the wire can be wrong. Mapped to an RCODE in one place
/// (the answer engine): malformed queries get FORMERR or no reply.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooShort
    case badName(String)
    case badPointer

    public var description: String {
        switch self {
        case .tooShort: return "message too short"
        case .badName(let s): return "bad name: \(s)"
        case .badPointer: return "bad compression pointer"
        }
    }
}
