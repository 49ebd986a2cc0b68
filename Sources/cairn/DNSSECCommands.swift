import ArgumentParser
import Foundation
import GSLBCore
import GSLBStore

/// `cairn dnssec enable|ds|status|disable`: a zone's signing keys in the store (works without a server; a
/// running server signs with them within its store check interval). docs/dnssec.md.
struct DNSSECCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnssec", abstract: "Sign zones online: keys in the store, DS for the parent (docs/dnssec.md).",
        subcommands: [Enable.self, DS.self, Status.self, Disable.self])

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a zone's keys: its answers are signed from now on. Then give the parent its DS (`cairn dnssec ds`).")
        @Argument(help: "The zone's origin (example.com).") var zone: String
        @Option(help: "ecdsap256sha256 (13, default) or ed25519 (15).") var algorithm: String = DNSSECAlgorithm.ecdsap256sha256.rawValue
        @Flag(help: "One combined signing key (default), or a KSK that signs the keys and a ZSK that signs the data.")
        var split: KeySplit = .csk
        @OptionGroup var storeOptions: LocalStoreOptions

        func run() throws {
            guard let alg = DNSSECAlgorithm(rawValue: algorithm.lowercased()) else {
                throw ValidationError("--algorithm: expected \(DNSSECAlgorithm.allCases.map(\.rawValue).joined(separator: " or "))")
            }
            let keys = try storeOptions.open().enableDNSSEC(zone: zone, algorithm: alg, split: split == .kskZsk,
                                                            principal: "cli:\(NSUserName())", source: "cli", requestID: nil)
            for k in keys { print("\(k.zone) \(k.role.rawValue) \(k.keyTag) \(k.algorithm.rawValue) created") }
            print("# give the parent zone this DS record:")
            for k in keys where k.role.signsKeys { print(k.dsText) }
        }
    }

    enum KeySplit: String, EnumerableFlag {
        case csk, kskZsk
        static func name(for value: KeySplit) -> NameSpecification { value == .csk ? .customLong("csk") : .customLong("ksk-zsk") }
    }

    struct DS: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ds", abstract: "Print the zone's DS records (SHA-256, digest type 2) for its parent.")
        @Argument(help: "The zone's origin.") var zone: String
        @Flag(help: "Print the DNSKEY records instead (a trust anchor for a resolver).") var dnskey = false
        @OptionGroup var storeOptions: LocalStoreOptions

        func run() throws {
            let keys = try storeOptions.open().listDNSSECKeys(zone: zone).filter { $0.role.signsKeys }
            guard !keys.isEmpty else { throw ValidationError("\(zone) is not signed: cairn dnssec enable \(zone)") }
            for k in keys { print(dnskey ? k.dnskeyText : k.dsText) }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List signed zones and their keys (never private keys).")
        @Argument(help: "One zone (default: every signed zone).") var zone: String?
        @OptionGroup var storeOptions: LocalStoreOptions

        func run() throws {
            let keys = try storeOptions.open().listDNSSECKeys(zone: zone)
            print("ZONE  ROLE  TAG  ALGORITHM  FLAGS  STATE  CREATED")
            for k in keys {
                print("\(k.zone)  \(k.role.rawValue)  \(k.keyTag)  \(k.algorithm.rawValue)  \(k.flags)  active  "
                      + RFC3339.format(k.createdAt, fractional: false))
            }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a zone's keys: its answers go unsigned. Remove the DS at the parent first and wait its TTL.")
        @Argument(help: "The zone's origin.") var zone: String
        @OptionGroup var storeOptions: LocalStoreOptions

        func run() throws {
            try storeOptions.open().disableDNSSEC(zone: zone, principal: "cli:\(NSUserName())", source: "cli", requestID: nil)
            print("DNSSEC disabled for \(zone): answers are no longer signed")
        }
    }
}
