import DNSWire
import Foundation
import GSLBConfigFile
import GSLBCore

/// zones/example.com.zone as the validator sees it, written out by hand from the file:
/// every owner name with its record types, the delegation of dev.example.com.
enum ExampleZone {
    static let origin = try! DomainName("example.com.")
    static let zones = [origin]

    static let names: [String: [RecordType]] = [
        "example.com.": [.soa, .ns, .a, .aaaa, .mx, .txt, .caa],
        "ns1.example.com.": [.a, .aaaa], "ns2.example.com.": [.a, .aaaa],
        "mx1.example.com.": [.a, .aaaa], "mx2.example.com.": [.a, .aaaa],
        "_dmarc.example.com.": [.txt],
        "mail.example.com.": [.cname],
        "git.example.com.": [.a, .aaaa], "status.example.com.": [.a], "vpn.example.com.": [.a],
        "fra1.example.com.": [.a, .aaaa], "ams1.example.com.": [.a, .aaaa], "nyc1.example.com.": [.a, .aaaa],
        "sip.example.com.": [.a], "xmpp.example.com.": [.a, .aaaa],
        "_sip._tcp.example.com.": [.srv], "_xmpp-server._tcp.example.com.": [.srv],
        "*.apps.example.com.": [.a, .aaaa],
        "dev.example.com.": [.ns],
        "ns1.dev.example.com.": [.a, .aaaa], "ns2.dev.example.com.": [.a],
    ]
    static let table: [DomainName: Set<RecordType>] = Dictionary(uniqueKeysWithValues: names.map { (try! DomainName($0.key), Set($0.value)) })
    static let delegation = try! DomainName("dev.example.com.")

    static func staticData(_ n: DomainName) -> Set<RecordType>? { table[n] }
    static func occluded(_ n: DomainName) -> Bool { n.isSubdomain(of: delegation) }

    /// Decodes and validates against the example zone.
    static func check(_ yaml: String) -> Result<GSLBConfig, [ConfigIssue]> {
        ConfigFile.decode(yaml: yaml, zones: zones, staticData: staticData, occluded: occluded)
    }

    static func issues(_ yaml: String) -> [ConfigIssue] {
        if case .failure(let i) = check(yaml) { return i }
        return []
    }

    static func validate(_ c: GSLBConfig) -> [ConfigIssue] {
        ConfigValidator.validate(c, zones: zones, staticData: staticData, occluded: occluded)
    }
}

enum Files {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    /// The package root (for examples/, docs/ and zones/).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ name: String) -> String {
        try! String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    static func repo(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }
}

extension Result where Success == GSLBConfig, Failure == [ConfigIssue] {
    var config: GSLBConfig? { if case .success(let c) = self { return c } else { return nil } }
    var issues: [ConfigIssue] { if case .failure(let i) = self { return i } else { return [] } }
}
