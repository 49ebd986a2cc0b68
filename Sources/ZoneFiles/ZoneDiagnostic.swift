/// One finding of `ZoneChecker`, printed `file:line: error: message` (or `warning:`),
/// as nsd-checkzone and kzonecheck print theirs.
public struct ZoneDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        /// The zone must not be served (`ZoneDirectory` rejects it).
        case error
        /// Served as NSD would serve it, but probably not what was meant.
        case warning
    }

    /// Which check found it: one case per rule, stable for tests and tooling.
    public enum Rule: String, Sendable, Hashable, CaseIterable {
        case missingApexSOA, multipleSOA, soaNotAtApex
        case outOfZone
        case cnameAndOtherData, multipleCNAME, cnameAtApex
        case multipleDNAME, dnameAndCNAME, occludedByDNAME
        case missingApexNS, missingGlue, occludedByDelegation, nsTargetIsCNAME, nsTargetWithoutAddress
        case duplicateRecord
        case ttlTooLarge, rrsetTTLMismatch
        case classNotIN
        case targetIsCNAME
        case wildcardNS, asteriskNotLeftmost
    }

    public var severity: Severity
    public var rule: Rule
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { "\(file):\(line): \(severity.rawValue): \(message)" }
}
