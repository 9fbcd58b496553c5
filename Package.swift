// swift-tools-version: 6.1
import PackageDescription

/// The backends sdctl can be built without: each is a package trait named here, builds in its
/// module, and may run on swift-nio's event loops. The file backend is always built.
let optionalBackends: [(trait: String, module: String, eventLoops: Bool, description: String)] = [
    ("ZooKeeper", "ZooKeeperDiscovery", false, "sdctl's zk:// backend (links libzookeeper_mt)"),
    ("Etcd", "EtcdDiscovery", true, "sdctl's etcd:// backend (gRPC over SwiftNIO)"),
    ("Consul", "ConsulDiscovery", true, "sdctl's consul:// backend (async-http-client)"),
    ("Eureka", "EurekaDiscovery", true, "sdctl's eureka:// backend (async-http-client)"),
    ("DNS", "DNSDiscovery", true, "sdctl's srv:// backend (SwiftNIO)"),
    ("Kubernetes", "KubernetesDiscovery", true, "sdctl's k8s:// backend (async-http-client)"),
]

/// The backend traits whose clients run on swift-nio's event loops.
let networked = Set(optionalBackends.filter(\.eventLoops).map(\.trait))

let package = Package(
    name: "sdctl",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Discovery", targets: ["Discovery"]),
        .library(name: "LoadBalancing", targets: ["LoadBalancing"]),
        .library(name: "FileDiscovery", targets: ["FileDiscovery"]),
        .library(name: "ZooKeeperDiscovery", targets: ["ZooKeeperDiscovery"]),
        .library(name: "EtcdDiscovery", targets: ["EtcdDiscovery"]),
        .library(name: "DNSDiscovery", targets: ["DNSDiscovery"]),
        .library(name: "ConsulDiscovery", targets: ["ConsulDiscovery"]),
        .library(name: "EurekaDiscovery", targets: ["EurekaDiscovery"]),
        .library(name: "KubernetesDiscovery", targets: ["KubernetesDiscovery"]),
        // For Swift services; sdctl links neither.
        .library(name: "DiscoveryServiceLifecycle", targets: ["DiscoveryServiceLifecycle"]),
        .library(name: "DiscoveryMetrics", targets: ["DiscoveryMetrics"]),
        // With the GRPC trait (on by default): a name resolver for grpc-swift-2.
        .library(name: "DiscoveryGRPC", targets: ["DiscoveryGRPC"]),
        .executable(name: "sdctl", targets: ["sdctl"]),
    ],
    // Each backend but the file backend can be left out of sdctl (`swift build --traits Etcd`
    // builds the file and etcd backends): .ci/demo builds the file backend alone, which
    // compiles in a fraction of the time (docs/development.md). The library products are
    // unaffected.
    traits: Set(
        optionalBackends.map { Trait.trait(name: $0.trait, description: $0.description) }
            + [
                .trait(
                    name: "GRPC",
                    description:
                        "the DiscoveryGRPC library: a name resolver for grpc-swift-2 (sdctl does not use it)"),
                .default(enabledTraits: Set(optionalBackends.map(\.trait) + ["GRPC"])),
            ]),
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        // DiscoveryMetrics only (sdctl does not link it).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        // DiscoveryGRPC only, with the GRPC trait.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.0.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.0.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        // No traits: the default BinaryDelimitedStreams imports all of Foundation, and with it
        // ICU's 34 MB of data (docs/footprint.md).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0", traits: []),
        // etcd's gRPC runs on these directly (EtcdDiscovery/Internal/GRPC; docs/etcd.md says
        // why not grpc-swift); DNS and the HTTP backends use swift-nio too.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.35.0"),
        // sdctl traps signals with its UnixSignals (Processes/SignalWatcher.swift).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // Consul's HTTP API (ConsulDiscovery), and the tests' control of the Consul emulator.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // Thread-local slot numbers for the balancers' striped pick state.
        .target(name: "CDiscoverySupport"),
        // The address of Swift Concurrency's global-executor hook, for sdctl's main.swift.
        .target(name: "CSDCTLExecutorHook"),
        // Multicast DNS's sockets, for DNSDiscovery (C: the socket address structures).
        .target(name: "CMDNSSocket"),
        .target(
            name: "Discovery",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "LoadBalancing",
            dependencies: ["Discovery", "CDiscoverySupport"]
        ),
        .target(
            name: "FileDiscovery",
            dependencies: ["Discovery", .product(name: "Logging", package: "swift-log")]
        ),
        // Debian's libzookeeper-mt-dev (3.8).
        .systemLibrary(name: "CZooKeeper", providers: [.apt(["libzookeeper-mt-dev"])]),
        .target(
            name: "ZooKeeperDiscovery",
            dependencies: ["Discovery", "CZooKeeper", .product(name: "Logging", package: "swift-log")]
        ),
        // etcd v3 over its native gRPC API, with a gRPC client of its own (Internal/GRPC). The
        // messages (Generated/) come from Protos/etcd.proto through Protos/generate.sh and are
        // committed.
        .target(
            name: "EtcdDiscovery",
            dependencies: [
                "Discovery",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                // For GRPCConnectionFuzzing only (Tests/Fuzz): a few small files.
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            exclude: ["Protos"]
        ),
        // DNS SRV and DNS-SD with its own stub resolver over SwiftNIO; multicast DNS on sockets of its own.
        .target(
            name: "DNSDiscovery",
            dependencies: [
                "Discovery",
                "CMDNSSocket",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // What the HTTP backends share: async-http-client with TLS files, Unix sockets, credentials
        // and errors mapped to DiscoveryError.
        .target(
            name: "DiscoveryHTTP",
            dependencies: [
                "Discovery",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Consul's HTTP API (health blocking queries, agent registration).
        .target(
            name: "ConsulDiscovery",
            dependencies: [
                "Discovery", "DiscoveryHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Eureka's REST API (polling an app, registering with lease renewals).
        .target(
            name: "EurekaDiscovery",
            dependencies: [
                "Discovery", "DiscoveryHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Debian's libyaml-dev (0.2), for kubeconfig files.
        .systemLibrary(name: "CYAML", providers: [.apt(["libyaml-dev"])]),
        // The Kubernetes API's EndpointSlices (list and watch, as client-go's informers).
        .target(
            name: "KubernetesDiscovery",
            dependencies: [
                "Discovery", "DiscoveryHTTP", "CYAML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Services for a swift-service-lifecycle ServiceGroup: registration with readiness and
        // drain, and an instancer.
        .target(
            name: "DiscoveryServiceLifecycle",
            dependencies: [
                "Discovery",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // swift-metrics for instancers, registrars and endpointers.
        .target(
            name: "DiscoveryMetrics",
            dependencies: [
                "Discovery",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A grpc-swift-2 name resolver following any Instancer; empty without the GRPC trait.
        .target(
            name: "DiscoveryGRPC",
            dependencies: [
                "Discovery",
                .product(name: "GRPCCore", package: "grpc-swift-2", condition: .when(traits: ["GRPC"])),
                // Its product carries GRPCNIOTransportCore, where name resolvers live.
                .product(
                    name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport",
                    condition: .when(traits: ["GRPC"])),
            ]
        ),
        .target(
            name: "SDCTLKit",
            dependencies: [
                "Discovery", "LoadBalancing", "FileDiscovery",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ] + optionalBackends.map { .target(name: $0.module, condition: .when(traits: [$0.trait])) }
        ),
        .executableTarget(
            name: "sdctl",
            dependencies: [
                "SDCTLKit",
                // For the backends that talk over swift-nio's sockets (main.swift says why).
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: networked)),
                .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: networked)),
                .target(name: "CSDCTLExecutorHook", condition: .when(traits: networked)),
            ],
            swiftSettings: [.define("SDCTL_EVENT_LOOPS", .when(traits: networked))]),
        .target(
            name: "TestSupport",
            dependencies: [
                "Discovery", .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            path: "Tests/TestSupport"),
        .testTarget(name: "DiscoveryTests", dependencies: ["Discovery", "TestSupport"]),
        .testTarget(name: "LoadBalancingTests", dependencies: ["LoadBalancing", "TestSupport"]),
        .testTarget(
            name: "DiscoveryServiceLifecycleTests",
            dependencies: [
                "DiscoveryServiceLifecycle", "FileDiscovery", "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]),
        .testTarget(
            name: "DiscoveryGRPCTests",
            dependencies: [
                "DiscoveryGRPC", "FileDiscovery", "EtcdDiscovery", "TestSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2", condition: .when(traits: ["GRPC"])),
                .product(
                    name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport",
                    condition: .when(traits: ["GRPC"])),
            ]),
        // docs/library.md's HTTP example, run against real local servers.
        .testTarget(
            name: "DiscoveryHTTPExampleTests",
            dependencies: [
                "LoadBalancing", "FileDiscovery", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .testTarget(
            name: "DiscoveryMetricsTests",
            dependencies: [
                "DiscoveryMetrics", "FileDiscovery", "TestSupport",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]),
        .testTarget(name: "FileDiscoveryTests", dependencies: ["FileDiscovery", "TestSupport"]),
        .testTarget(
            name: "ZooKeeperDiscoveryTests",
            dependencies: ["ZooKeeperDiscovery", "CZooKeeper", "TestSupport"]),
        .testTarget(
            name: "EtcdDiscoveryTests",
            dependencies: [
                "EtcdDiscovery", "TestSupport", .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        .testTarget(
            name: "DNSDiscoveryTests",
            dependencies: ["DNSDiscovery", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "ConsulDiscoveryTests",
            dependencies: ["ConsulDiscovery", "DiscoveryHTTP", "TestSupport"]),
        .testTarget(
            name: "EurekaDiscoveryTests", dependencies: ["EurekaDiscovery", "DiscoveryHTTP", "TestSupport"]),
        .testTarget(
            name: "KubernetesDiscoveryTests",
            dependencies: ["KubernetesDiscovery", "DiscoveryHTTP", "TestSupport"]),
        .testTarget(
            name: "SDCTLKitTests",
            dependencies: [
                "SDCTLKit", "ConsulDiscovery", "EurekaDiscovery", "KubernetesDiscovery", "TestSupport",
            ]),
        // The instancer and registrar contracts, run over every backend.
        .testTarget(
            name: "BackendContractTests",
            dependencies: [
                "Discovery", "FileDiscovery", "ZooKeeperDiscovery", "EtcdDiscovery", "DNSDiscovery",
                "ConsulDiscovery", "EurekaDiscovery", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "SDCTLEndToEndTests", dependencies: ["sdctl", "TestSupport"]),
    ]
)

// The settings grpc-swift-2 builds with, for every Swift target: existentials spelled `any`, and
// members used only where their module is imported. Not the second under ThreadSanitizer
// (Tests/sanitizers.sh sets SDCTL_TSAN): there `Mutex` is Discovery's ThreadSanitizerMutex
// through a per-module typealias, and every file that locks would have to import Discovery for
// that build alone.
let threadSanitizerBuild = Context.environment["SDCTL_TSAN"] != nil
let cTargets: Set = ["CDiscoverySupport", "CSDCTLExecutorHook", "CMDNSSocket"]
for target in package.targets where target.type != .system && !cTargets.contains(target.name) {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [.enableUpcomingFeature("ExistentialAny")]
        + (threadSanitizerBuild ? [] : [.enableUpcomingFeature("MemberImportVisibility")])
}

// swift-docc-plugin, for `swift package generate-documentation` (docs/development.md): only when
// SDCTL_DOCC is set, so that neither sdctl's build nor its dependency resolution carries it.
if Context.environment["SDCTL_DOCC"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"))
}
