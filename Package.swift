// swift-tools-version:6.1
import PackageDescription

// The query path (DNSWire, GSLBCore's AnswerEngine, DNSService's UDP workers and TCP listener): release builds
// skip Swift's run-time exclusivity checks (swift_beginAccess per class-property access measured at ~5 % of a
// UDP worker's CPU). The compile-time checks stay, and debug builds (the tests) keep the run-time ones.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "cairn",
    platforms: [.macOS(.v15)],   // Synchronization.Mutex, the one lock type
    products: [
        .executable(name: "cairn", targets: ["cairn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // The admin API. Default traits off: no swift-configuration, no full Foundation.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        // The daemon's services and their graceful shutdown (already built as Hummingbird's dependency).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Heap (the probe schedule); already built as a dependency of NIO's.
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        // SHA-256 and random bytes of API tokens, TSIG's HMACs; already built for swift-certificates (NIOSSL's graph).
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // The PostgreSQL backend of the store (several nodes on one database).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // The HTTP client of the `cairn` API commands (already built for HummingbirdTesting).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // bytes <-> values: names, headers, records, EDNS, compression, truncation. No dependencies.
        .target(name: "DNSWire", swiftSettings: hotPath),
        // Debian's libldns-dev, seen only by ZoneFiles.
        .systemLibrary(name: "CLDNS", pkgConfig: "ldns", providers: [.apt(["libldns-dev"])]),
        // Debian's libmaxminddb-dev (GeoIP topology), seen only by GeoIP.
        .systemLibrary(name: "CMaxMindDB", pkgConfig: "libmaxminddb", providers: [.apt(["libmaxminddb-dev"])]),
        // recvmmsg/sendmmsg for the UDP hot path (needs _GNU_SOURCE).
        .target(name: "CNetShim"),
        // swift-crypto: the HMACs of TSIG (RFC 8945).
        .target(name: "GSLBCore", dependencies: ["DNSWire", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: hotPath),
        .target(name: "ZoneFiles", dependencies: ["DNSWire", "GSLBCore", "CLDNS"]),
        // The store: the repository logic once, over SQLite (GRDB, the only importer) and PostgreSQL (PostgresNIO).
        .target(name: "GSLBStore", dependencies: ["GSLBCore", .product(name: "GRDB", package: "GRDB.swift"),
                                                  .product(name: "Crypto", package: "swift-crypto"),
                                                  .product(name: "PostgresNIO", package: "postgres-nio")]),
        // The declarative YAML file of `cairn apply` / `cairn export`.
        .target(name: "GSLBConfigFile", dependencies: ["GSLBCore", "DNSWire", .product(name: "Yams", package: "Yams")]),
        // The serving state: zone loader and snapshot publisher (SnapshotBox swaps), the store watcher's
        // thread, and the small runtime pieces every service shares (named threads, histograms).
        .target(name: "SnapshotService", dependencies: [
            "DNSWire", "GSLBCore", "CNetShim",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // GeoIP topology: MaxMind DB files opened (and reopened when replaced) through libmaxminddb.
        .target(name: "GeoIP", dependencies: [
            "GSLBCore", "SnapshotService", "CMaxMindDB",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The DNS listeners: UDP worker threads and the NIO TCP listener, reading the current snapshot.
        // With DNSWire and GSLBCore's answer engine, the only code built without run-time exclusivity checks.
        .target(name: "DNSService", dependencies: [
            "DNSWire", "GSLBCore", "CNetShim", "SnapshotService",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: hotPath),
        // Health monitoring: the schedule (Heap), the probers, the C probe loop, the rise/fall machines.
        .target(name: "HealthService", dependencies: [
            "DNSWire", "GSLBCore", "CNetShim", "SnapshotService",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HeapModule", package: "swift-collections"),
        ]),
        // Failover drills: run, measure over UDP, restore, report.
        .target(name: "DrillService", dependencies: [
            "DNSWire", "GSLBCore", "SnapshotService",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The admin API (Hummingbird): routes, auth, connection guard, request and response bodies.
        .target(name: "AdminService", dependencies: [
            "DNSWire", "GSLBCore", "GSLBConfigFile", "SnapshotService", "HealthService", "DrillService",
            .product(name: "NIOCore", package: "swift-nio"),
            // The connection guard: NIOHTTP1's request parts, NIOTLS's handshake event.
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
        ]),
        // The daemon: builds every part from a typed configuration and runs them as one ServiceGroup.
        .target(name: "CairnDaemon", dependencies: [
            "DNSWire", "GSLBCore", "CNetShim", "ZoneFiles", "GSLBStore", "GeoIP",
            "SnapshotService", "DNSService", "HealthService", "DrillService", "AdminService",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], plugins: ["BuildCommit"]),
        // The git commit of the build, baked into CairnDaemon (`cairn --version`, `cairn_build_info`).
        .plugin(name: "BuildCommit", capability: .buildTool()),
        .executableTarget(name: "cairn", dependencies: [
            "DNSWire", "GSLBCore", "ZoneFiles", "GSLBStore", "GSLBConfigFile", "CairnDaemon",
            "DNSService", "HealthService", "AdminService", "GeoIP",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        // libFuzzer target (scripts/fuzz): the answer path and the config codec; no NIO, no Hummingbird.
        .executableTarget(name: "CairnFuzz", dependencies: ["DNSWire", "GSLBCore", "GSLBConfigFile"]),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire"]),
        .testTarget(name: "GSLBCoreTests", dependencies: ["DNSWire", "GSLBCore", "ZoneFiles"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ZoneFilesTests", dependencies: ["DNSWire", "GSLBCore", "ZoneFiles"],
                    resources: [.copy("Fixtures")]),
        // Starts a real PostgreSQL for the store's contract tests and the integration tests.
        .target(name: "TestPostgres", path: "Tests/TestPostgres"),
        .testTarget(name: "GSLBStoreTests", dependencies: ["GSLBCore", "GSLBStore", "TestPostgres"]),
        .testTarget(name: "GSLBConfigFileTests", dependencies: ["GSLBCore", "GSLBConfigFile", "DNSWire"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "IntegrationTests", dependencies: [
            "DNSWire", "GSLBCore", "ZoneFiles", "SnapshotService", "DNSService", "HealthService", "AdminService",
            "GSLBStore", "cairn", "CairnDaemon", "TestPostgres",
        ]),
        .testTarget(name: "GeoIPTests", dependencies: ["GSLBCore", "GeoIP", "SnapshotService"]),
        .testTarget(name: "SnapshotServiceTests", dependencies: ["DNSWire", "GSLBCore", "SnapshotService"]),
        .testTarget(name: "DNSServiceTests", dependencies: ["DNSWire", "GSLBCore", "SnapshotService", "DNSService",
                                                           .product(name: "NIOCore", package: "swift-nio"),
                                                           .product(name: "NIOPosix", package: "swift-nio"),
                                                           .product(name: "NIOEmbedded", package: "swift-nio")]),
        .testTarget(name: "HealthServiceTests", dependencies: ["GSLBCore", "HealthService",
                                                              .product(name: "NIOCore", package: "swift-nio"),
                                                              .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "AdminServiceTests", dependencies: ["DNSWire", "GSLBCore", "GSLBStore", "SnapshotService", "AdminService",
                                                             .product(name: "Hummingbird", package: "hummingbird"),
                                                             .product(name: "HummingbirdTesting", package: "hummingbird"),
                                                             .product(name: "NIOCore", package: "swift-nio"),
                                                             .product(name: "NIOPosix", package: "swift-nio"),
                                                             .product(name: "NIOEmbedded", package: "swift-nio")]),
        .testTarget(name: "CairnDaemonTests", dependencies: ["DNSWire", "GSLBCore", "SnapshotService", "DNSService",
                                                            "HealthService", "GSLBStore", "CairnDaemon"]),
    ],
    swiftLanguageModes: [.v6]
)
