import DNSWire
import Foundation
import GSLBCore

/// Paths of the files under `Fixtures/` (copied into the test bundle).
enum FixtureFiles {
    static let root: String = {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("Fixtures missing from the test bundle")
        }
        return url.path
    }()

    static func path(_ relative: String) -> String { root + "/" + relative }
}

extension ZoneContent {
    /// The index of the first record with this owner and type.
    func index(of name: String, _ type: RecordType) -> Int? {
        guard let n = try? DomainName(name) else { return nil }
        return records.firstIndex { $0.name == n && $0.type == type }
    }
}

/// Uncompressed wire form of an absolute name.
func wire(_ name: String) -> [UInt8] { try! DomainName(name).wire }

/// A broken zone fixture: its file, where the error must be reported (`file:line`) and the reason.
struct BrokenZoneFixture: Sendable, CustomStringConvertible {
    var file: String
    var at: String
    var reason: String
    var description: String { file }
}
