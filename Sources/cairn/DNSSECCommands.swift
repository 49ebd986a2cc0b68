import ArgumentParser
import Foundation
import GSLBCore

/// `cairn dnssec enable|ds|status|rollover|ds-seen|disable`: a zone's signing keys in the store (works without a server; a
/// running server signs with them within its store check interval). docs/dnssec.md.
struct DNSSECCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnssec", abstract: "Sign zones online: keys in the store, DS for the parent (docs/dnssec.md).",
        subcommands: [Enable.self, DS.self, Status.self, Rollover.self, DSSeen.self, Disable.self])

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
                                                            principal: principalName(), source: "cli", requestID: nil)
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
            let all = try storeOptions.open().listDNSSECKeys(zone: zone)
            guard !all.isEmpty else { throw ValidationError("\(zone) is not signed: cairn dnssec enable \(zone)") }
            // DS: what the parent should have now (the new KSK's during a rollover); DNSKEY: every key-signing key.
            for k in dnskey ? all.filter({ $0.role.signsKeys }) : DNSSECRollover.parentKeys(all) {
                print(dnskey ? k.dnskeyText : k.dsText)
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List signed zones and their keys (never private keys): state, since when, the next rollover step's time.")
        @Argument(help: "One zone (default: every signed zone).") var zone: String?
        @OptionGroup var storeOptions: LocalStoreOptions

        func run() throws {
            let keys = try storeOptions.open().listDNSSECKeys(zone: zone)
            print("ZONE  ROLE  TAG  ALGORITHM  FLAGS  STATE  CREATED  SINCE  NEXT")
            for k in keys {
                let next = k.nextAt.map { RFC3339.format($0, fractional: false) } ?? (k.state == .dsPending ? "ds-seen" : "-")
                print("\(k.zone)  \(k.role.rawValue)  \(k.keyTag)  \(k.algorithm.rawValue)  \(k.flags)  \(k.state.rawValue)  "
                      + RFC3339.format(k.createdAt, fractional: false) + "  " + RFC3339.format(k.stateSince, fractional: false)
                      + "  " + next)
            }
        }
    }

    struct Rollover: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a zone's ZSK (pre-publish) or KSK/CSK (double-signature); a running server takes the steps.",
            discussion: """
                The new key is published at once; the daemon of any node serving the zone takes each next step when \
                its time comes (derived from the zone's TTLs and these delays; `cairn dnssec status` shows it). A KSK \
                or CSK rollover stops at ds-pending until `cairn dnssec ds-seen ZONE`. docs/dnssec.md "Key rollover".
                """)
        @Argument(help: "The zone's origin.") var zone: String
        @Flag(help: "The key to replace: the ZSK, or the KSK (the CSK of a zone with one key).") var key: RolledKey
        @Option(help: "Dprp: how long a key change takes to reach every node (production: at least 5m).")
        var propagation: String = "1h"
        @Option(name: .customLong("ds-ttl"), help: "TTLds: the TTL of the zone's DS RRset at the parent (production: ask the parent).")
        var dsTTL: String = "1d"
        @Option(help: "DprpP: from ds-seen until every server of the parent has the new DS (production: at least 5m).")
        var parentPropagation: String = "1h"
        @OptionGroup var storeOptions: LocalStoreOptions

        func run() throws {
            let delays = try RolloverDelays(propagation: Self.seconds(propagation, "--propagation"),
                                            dsTTL: Self.seconds(dsTTL, "--ds-ttl"),
                                            parentPropagation: Self.seconds(parentPropagation, "--parent-propagation"))
            let k = try storeOptions.open().startRollover(zone: zone, ksk: key == .ksk, delays: delays,
                                                          principal: principalName(), source: "cli", requestID: nil)
            print("\(k.zone) \(k.role.rawValue) \(k.keyTag) \(k.algorithm.rawValue) published: a running server takes the next steps "
                  + "(cairn dnssec status \(k.zone) shows when)")
            for name in delays.belowProductionMinimum {
                print("warning: --\(name) is below the production minimum (docs/dnssec.md): for tests only")
            }
        }

        static func seconds(_ text: String, _ flag: String) throws -> Double {
            guard let s = TimeSpan.seconds(text), s <= 366 * 86_400 else {
                throw ValidationError("\(flag): expected \(TimeSpan.expected), at most a year")
            }
            return s
        }
    }

    enum RolledKey: String, EnumerableFlag {
        case zsk, ksk
    }

    struct DSSeen: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ds-seen",
            abstract: "Confirm that the parent publishes the new KSK's DS: it becomes active, the old KSK retires.")
        @Argument(help: "The zone's origin.") var zone: String
        @OptionGroup var storeOptions: LocalStoreOptions

        func run() throws {
            let keys = try storeOptions.open().confirmDS(zone: zone, principal: principalName(), source: "cli", requestID: nil)
            for k in keys where k.role.signsKeys { print("\(k.zone) \(k.role.rawValue) \(k.keyTag) \(k.state.rawValue)") }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a zone's keys: its answers go unsigned. Remove the DS at the parent first and wait its TTL.")
        @Argument(help: "The zone's origin.") var zone: String
        @OptionGroup var storeOptions: LocalStoreOptions

        func run() throws {
            try storeOptions.open().disableDNSSEC(zone: zone, principal: principalName(), source: "cli", requestID: nil)
            print("DNSSEC disabled for \(zone): answers are no longer signed")
        }
    }
}
