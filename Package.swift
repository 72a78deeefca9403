// swift-tools-version:6.0
// The event-sourced backend of a transactional email platform.
// No package dependencies: the toolchain plus libpq and libcrypto/libssl from Debian (and a
// header of inline wrappers for Linux system calls glibc does not wrap).
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "mailplatform",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ingest", targets: ["ingest"]),
        .executable(name: "delivery", targets: ["delivery"]),
        .executable(name: "query", targets: ["query"]),
    ],
    targets: [
        // MARK: C libraries from Debian
        .systemLibrary(
            name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CCrypto", path: "Shared/CCrypto", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        // Fixed-signature wrappers for Linux system calls glibc does not wrap (header only).
        .systemLibrary(name: "CSystemCalls", path: "Shared/CSystemCalls"),

        // MARK: Shared libraries (one job each; see Shared/README.md)
        .target(name: "JSON", path: "Shared/JSON", swiftSettings: swiftSettings, linkerSettings: [.linkedLibrary("m")]),
        .target(name: "UUIDText", path: "Shared/UUIDText", swiftSettings: swiftSettings),
        .target(
            name: "ThreadSupport", dependencies: ["CSystemCalls"], path: "Shared/ThreadSupport", swiftSettings: swiftSettings),
        .target(name: "Crypto", dependencies: ["CCrypto"], path: "Shared/Crypto", swiftSettings: swiftSettings),
        .target(name: "Postgres", dependencies: ["CLibPQ", "UUIDText", "ThreadSupport"], path: "Shared/Postgres", swiftSettings: swiftSettings),
        .target(
            name: "EventStore", dependencies: ["Postgres", "JSON", "ThreadSupport"], path: "Shared/EventStore",
            swiftSettings: swiftSettings),
        .target(name: "HTTP", dependencies: ["JSON", "Crypto", "ThreadSupport"], path: "Shared/HTTP", swiftSettings: swiftSettings),
        .target(name: "Domain", dependencies: ["JSON", "UUIDText"], path: "Shared/Domain", swiftSettings: swiftSettings),
        .target(
            name: "Privacy", dependencies: ["Crypto", "Postgres", "JSON", "EventStore"], path: "Shared/Privacy",
            swiftSettings: swiftSettings),
        .target(
            name: "Webhooks", dependencies: ["Crypto", "JSON", "Domain"], path: "Shared/Webhooks",
            swiftSettings: swiftSettings),
        .target(
            name: "Mail", dependencies: ["CCrypto", "Crypto", "ThreadSupport"], path: "Shared/Mail", swiftSettings: swiftSettings),
        .target(
            name: "Service",
            dependencies: ["HTTP", "EventStore", "Postgres", "JSON", "Crypto", "Domain", "Privacy"],
            path: "Shared/Service", swiftSettings: swiftSettings),

        // MARK: Services: a library with the app (tests build it on port 0) and a thin executable
        .target(
            name: "IngestService",
            dependencies: ["Service", "Domain", "EventStore", "HTTP", "JSON", "Crypto", "Postgres", "Privacy"],
            path: "Services/Ingest/Sources", swiftSettings: swiftSettings),
        .executableTarget(
            name: "ingest", dependencies: ["IngestService", "Service"], path: "Services/Ingest/Main",
            swiftSettings: swiftSettings),
        .target(
            name: "QueryService",
            dependencies: ["Service", "Domain", "EventStore", "HTTP", "JSON", "Crypto", "Postgres", "Privacy"],
            path: "Services/Query/Sources", swiftSettings: swiftSettings),
        .executableTarget(
            name: "query", dependencies: ["QueryService", "Service"], path: "Services/Query/Main",
            swiftSettings: swiftSettings),
        .target(
            name: "DeliveryService",
            dependencies: ["Service", "Domain", "EventStore", "HTTP", "JSON", "Crypto", "Postgres", "Mail", "Webhooks", "Privacy",
                "ThreadSupport"],
            path: "Services/Delivery/Sources", swiftSettings: swiftSettings),
        .executableTarget(
            name: "delivery", dependencies: ["DeliveryService", "Service"], path: "Services/Delivery/Main",
            swiftSettings: swiftSettings),

        // MARK: Benchmarks (run by bench/*.sh, never by the tests)
        .executableTarget(
            name: "eventstore-bench", dependencies: ["EventStore", "Postgres", "JSON"], path: "bench/EventStoreBench",
            swiftSettings: swiftSettings),

        // MARK: Tests
        .target(
            name: "TestSupport", dependencies: ["Postgres", "EventStore", "JSON", "HTTP", "Service", "Crypto"], path: "Tests/Support",
            swiftSettings: swiftSettings),
        .testTarget(name: "JSONTests", dependencies: ["JSON"], path: "Tests/JSONTests", swiftSettings: swiftSettings),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto"], path: "Tests/CryptoTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "HTTPTests", dependencies: ["HTTP", "JSON", "TestSupport"], path: "Tests/HTTPTests",
            swiftSettings: swiftSettings),
        .testTarget(name: "DomainTests", dependencies: ["Domain", "JSON"], path: "Tests/DomainTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "WebhooksTests", dependencies: ["Webhooks", "Crypto", "JSON", "Domain"], path: "Tests/WebhooksTests",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PrivacyTests", dependencies: ["Privacy", "EventStore", "Postgres", "TestSupport", "JSON", "Crypto"],
            path: "Tests/PrivacyTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "SystemTests", dependencies: ["TestSupport", "JSON", "Crypto", "Postgres", "EventStore", "ingest", "query", "delivery"], path: "Tests/SystemTests",
            swiftSettings: swiftSettings),
        .testTarget(name: "MailTests", dependencies: ["Mail", "TestSupport"], path: "Tests/MailTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "EventStoreTests", dependencies: ["EventStore", "Postgres", "JSON", "TestSupport", "ThreadSupport"],
            path: "Tests/EventStoreTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "IngestTests", dependencies: ["IngestService", "Service", "TestSupport", "JSON", "HTTP", "EventStore"],
            path: "Tests/IngestTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "QueryTests",
            dependencies: ["QueryService", "IngestService", "Service", "TestSupport", "JSON", "HTTP", "EventStore"],
            path: "Tests/QueryTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "DeliveryTests",
            dependencies: ["DeliveryService", "Service", "TestSupport", "JSON", "HTTP", "EventStore", "Mail"],
            path: "Tests/DeliveryTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["IngestService", "QueryService", "DeliveryService", "Service", "TestSupport", "JSON", "EventStore", "Crypto", "Postgres"],
            path: "Tests/EndToEndTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "RoutesTests",
            dependencies: ["IngestService", "QueryService", "DeliveryService", "Service", "HTTP", "TestSupport", "JSON"],
            path: "Tests/RoutesTests", swiftSettings: swiftSettings),
    ],
    swiftLanguageModes: [.v6]
)
