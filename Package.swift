// swift-tools-version:6.1
import PackageDescription

/// Every target, tests included: no `any` left implicit, no member seen through an import the
/// file did not write, and an import is internal unless the file says `public import`, so a
/// module's public surface names exactly the modules its clients must see.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Meridian",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "meridian", targets: ["meridian"]),
        // The query path without NIO, for Benchmarks/QueryPath (a separate package that depends on
        // this one by path: the in-process harness callgrind runs). A product adds nothing to what
        // `swift build` builds here; it only lets another package import these modules.
        .library(
            name: "MeridianQueryPath",
            targets: ["DNSWire", "DNSZone", "DNSAuth", "DNSSEC", "ZoneFile", "IPNet", "GeoIP", "HealthModel", "Routing", "QueryEngine", "ServerConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CLDNS", pkgConfig: "ldns", providers: [.apt(["libldns-dev"])]),
        .systemLibrary(name: "CMaxMindDB", pkgConfig: "libmaxminddb", providers: [.apt(["libmaxminddb-dev"])]),
        .target(name: "CDNSIO"),
        .target(name: "DNSWire", swiftSettings: strict),
        .target(name: "DNSZone", dependencies: ["DNSWire"], swiftSettings: strict),
        .target(name: "DNSAuth", dependencies: ["DNSWire", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .target(name: "DNSSEC", dependencies: ["DNSWire", "DNSZone", .product(name: "Crypto", package: "swift-crypto"),
                                               .product(name: "_CryptoExtras", package: "swift-crypto")], swiftSettings: strict),
        .target(name: "ZoneFile", dependencies: ["DNSWire", "DNSZone", "IPNet", "CLDNS"], swiftSettings: strict),
        .target(name: "IPNet", swiftSettings: strict),
        .target(name: "GeoIP", dependencies: ["IPNet", "CMaxMindDB"], swiftSettings: strict),
        .target(name: "HealthModel", dependencies: ["DNSWire"], swiftSettings: strict),
        .target(name: "Routing", dependencies: ["DNSWire", "IPNet", "HealthModel"], swiftSettings: strict),
        .target(
            name: "Health",
            dependencies: [
                "HealthModel", "DNSWire", "IPNet",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .target(name: "FleetModel", dependencies: ["HealthModel"], swiftSettings: strict),
        .target(
            name: "Etcd",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .target(name: "ZoneTransfer", dependencies: ["DNSWire", "DNSZone", "DNSAuth", "IPNet"], swiftSettings: strict),
        .target(name: "ServiceTransfer", dependencies: ["DNSWire", "IPNet", "HealthModel", "Routing", "ZoneTransfer"], swiftSettings: strict),
        .target(name: "QueryEngine", dependencies: ["DNSWire", "DNSZone", "DNSAuth", "DNSSEC", "IPNet", "HealthModel", "Routing", "ZoneTransfer"], swiftSettings: strict),
        .target(name: "ServerConfig", dependencies: ["DNSWire", "IPNet", "HealthModel", "Routing", "FleetModel", "Yams"], swiftSettings: strict),
        .target(
            name: "DNSServer",
            dependencies: [
                "DNSWire", "DNSZone", "DNSAuth", "ZoneFile", "QueryEngine", "ServerConfig", "CDNSIO", "IPNet", "GeoIP", "ZoneTransfer",
                "ServiceTransfer", "Etcd", "FleetModel", "DNSSEC",
                "HealthModel", "Routing", "Health",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            resources: [.embedInCode("Resources/status.html")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "meridian",
            dependencies: [
                "DNSServer", "ServerConfig", "DNSZone", "ZoneFile", "HealthModel", "Health", "Routing", "IPNet", "GeoIP", "DNSWire", "QueryEngine",
                "DNSSEC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire"], swiftSettings: strict),
        .testTarget(name: "DNSZoneTests", dependencies: ["DNSWire", "DNSZone"], swiftSettings: strict),
        .testTarget(name: "ZoneTransferTests", dependencies: ["ZoneTransfer", "DNSWire", "DNSZone", "DNSAuth", "IPNet"], swiftSettings: strict),
        .testTarget(name: "ServiceTransferTests", dependencies: ["ServiceTransfer", "ZoneTransfer", "Routing", "HealthModel", "DNSWire", "IPNet"], swiftSettings: strict),
        .testTarget(name: "DNSAuthTests", dependencies: ["DNSAuth", "DNSWire"], swiftSettings: strict),
        .testTarget(name: "DNSSECTests", dependencies: ["DNSSEC", "DNSWire", "DNSZone"], swiftSettings: strict),
        .testTarget(name: "ZoneFileTests", dependencies: ["DNSWire", "DNSZone", "ZoneFile"], swiftSettings: strict),
        .testTarget(name: "QueryEngineTests", dependencies: ["DNSWire", "DNSZone", "DNSAuth", "QueryEngine", "IPNet", "GeoIP", "HealthModel", "Routing", "ServerConfig", "Health"], swiftSettings: strict),
        .testTarget(name: "EndToEndTests", dependencies: ["DNSWire", "DNSZone", "ZoneFile", "FuzzHarness", "FuzzHarnessTCP"], swiftSettings: strict),
        .testTarget(name: "GeoIPTests", dependencies: ["IPNet", "GeoIP"], swiftSettings: strict),
        .testTarget(name: "RoutingTests", dependencies: ["Routing", "IPNet", "GeoIP", "HealthModel", "DNSWire", "ServerConfig", "Health"], swiftSettings: strict),
        .testTarget(name: "HealthTests", dependencies: ["Health", "HealthModel", "DNSWire", .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")], swiftSettings: strict),
        .testTarget(name: "FleetModelTests", dependencies: ["FleetModel", "HealthModel"], swiftSettings: strict),
        .testTarget(name: "EtcdTests", dependencies: ["Etcd"], swiftSettings: strict),
        .testTarget(name: "ServerConfigTests", dependencies: ["ServerConfig", "DNSWire", "IPNet", "HealthModel", "Routing", "Health", "FleetModel"], swiftSettings: strict),
        .testTarget(name: "DNSServerTests", dependencies: ["DNSServer", "FleetModel", "HealthModel", "DNSWire", "DNSZone", "QueryEngine", "ServerConfig", "Health", .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio")], swiftSettings: strict),
        // Fuzzing (docs/FUZZING.md): the targets' logic, shared with Tests/EndToEndTests/FuzzRegressionTests,
        // and one executable per target; scripts/fuzz builds them with -sanitize=fuzzer,address.
        .target(
            name: "FuzzHarness", dependencies: ["DNSWire", "DNSZone", "DNSAuth", "DNSSEC", "ZoneFile", "QueryEngine", "IPNet", "GeoIP", "HealthModel", "Routing", "ServerConfig", "Health", "ZoneTransfer", "FleetModel"],
            path: "Fuzz/Sources/FuzzHarness", swiftSettings: strict),
        .target(
            name: "FuzzHarnessTCP",
            dependencies: ["FuzzHarness", "DNSServer", "QueryEngine", "IPNet", "Routing",
                           .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/Sources/FuzzHarnessTCP", swiftSettings: strict),
        .executableTarget(name: "fuzz-query", dependencies: ["FuzzHarness"], path: "Fuzz/Sources/fuzz-query", swiftSettings: strict),
        .executableTarget(name: "fuzz-zone", dependencies: ["FuzzHarness"], path: "Fuzz/Sources/fuzz-zone", swiftSettings: strict),
        .executableTarget(name: "fuzz-zonefile", dependencies: ["FuzzHarness"], path: "Fuzz/Sources/fuzz-zonefile", swiftSettings: strict),
        .executableTarget(name: "fuzz-config", dependencies: ["FuzzHarness"], path: "Fuzz/Sources/fuzz-config", swiftSettings: strict),
        .executableTarget(name: "fuzz-tcp", dependencies: ["FuzzHarness", "FuzzHarnessTCP"], path: "Fuzz/Sources/fuzz-tcp", swiftSettings: strict),
        .executableTarget(name: "fuzz-transfer", dependencies: ["FuzzHarness"], path: "Fuzz/Sources/fuzz-transfer", swiftSettings: strict),
        .executableTarget(name: "fuzz-fleet", dependencies: ["FuzzHarness"], path: "Fuzz/Sources/fuzz-fleet", swiftSettings: strict),
    ]
)
