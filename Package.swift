// swift-tools-version:6.1
import PackageDescription

// The query path (DNSWire, GSLBCore's AnswerEngine, GSLBServer's UDP workers and probe loop): release builds
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
        // SHA-256 and random bytes of API tokens; already built for swift-certificates (NIOSSL's graph).
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // The PostgreSQL backend of the store (several nodes on one database).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // bytes <-> values: names, headers, records, EDNS, compression, truncation. No dependencies.
        .target(name: "DNSWire", swiftSettings: hotPath),
        // Debian's libldns-dev, seen only by ZoneFiles.
        .systemLibrary(name: "CLDNS", pkgConfig: "ldns", providers: [.apt(["libldns-dev"])]),
        // recvmmsg/sendmmsg for the UDP hot path (needs _GNU_SOURCE).
        .target(name: "CNetShim"),
        .target(name: "GSLBCore", dependencies: ["DNSWire"], swiftSettings: hotPath),
        .target(name: "ZoneFiles", dependencies: ["DNSWire", "GSLBCore", "CLDNS"]),
        // The store: the repository logic once, over SQLite (GRDB, the only importer) and PostgreSQL (PostgresNIO).
        .target(name: "GSLBStore", dependencies: ["GSLBCore", .product(name: "GRDB", package: "GRDB.swift"),
                                                  .product(name: "Crypto", package: "swift-crypto"),
                                                  .product(name: "PostgresNIO", package: "postgres-nio")]),
        // The declarative YAML file of `cairn apply` / `cairn export`.
        .target(name: "GSLBConfigFile", dependencies: ["GSLBCore", "DNSWire", .product(name: "Yams", package: "Yams")]),
        .target(name: "GSLBServer", dependencies: [
            "DNSWire", "GSLBCore", "CNetShim", "GSLBConfigFile",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            // The admin API's connection guard: NIOHTTP1's request parts, NIOTLS's handshake event.
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HeapModule", package: "swift-collections"),
        ], swiftSettings: hotPath),
        // The daemon: builds every part from a typed configuration and runs them as one ServiceGroup.
        .target(name: "CairnDaemon", dependencies: [
            "DNSWire", "GSLBCore", "ZoneFiles", "GSLBServer", "GSLBStore",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .executableTarget(name: "cairn", dependencies: [
            "DNSWire", "GSLBCore", "ZoneFiles", "GSLBServer", "GSLBStore", "GSLBConfigFile", "CairnDaemon",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .executableTarget(name: "CairnFuzz", dependencies: ["DNSWire", "GSLBCore"]),
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
            "DNSWire", "GSLBCore", "ZoneFiles", "GSLBServer", "cairn", "CairnDaemon", "TestPostgres",
        ]),
        .testTarget(name: "ProberTests", dependencies: ["GSLBCore", "GSLBServer", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "GSLBServerTests", dependencies: ["DNSWire", "GSLBCore", "GSLBServer",
                                                            .product(name: "NIOCore", package: "swift-nio"),
                                                            .product(name: "NIOPosix", package: "swift-nio"),
                                                            .product(name: "NIOEmbedded", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v6]
)
