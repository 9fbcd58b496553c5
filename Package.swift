// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "sdctl",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Discovery", targets: ["Discovery"]),
        .library(name: "LoadBalancing", targets: ["LoadBalancing"]),
        .library(name: "FileDiscovery", targets: ["FileDiscovery"]),
        .library(name: "ZooKeeperDiscovery", targets: ["ZooKeeperDiscovery"]),
        .executable(name: "sdctl", targets: ["sdctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    ],
    targets: [
        // Thread-local slot numbers for the balancers' striped pick state.
        .target(name: "CDiscoverySupport"),
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
        .target(
            name: "SDCTLKit",
            dependencies: [
                "Discovery", "LoadBalancing", "FileDiscovery", "ZooKeeperDiscovery",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(name: "sdctl", dependencies: ["SDCTLKit"]),
        .target(name: "TestSupport", dependencies: ["Discovery"], path: "Tests/TestSupport"),
        .testTarget(name: "DiscoveryTests", dependencies: ["Discovery", "TestSupport"]),
        .testTarget(name: "LoadBalancingTests", dependencies: ["LoadBalancing", "TestSupport"]),
        .testTarget(name: "FileDiscoveryTests", dependencies: ["FileDiscovery", "TestSupport"]),
        .testTarget(
            name: "ZooKeeperDiscoveryTests",
            dependencies: ["ZooKeeperDiscovery", "CZooKeeper", "TestSupport"]),
        .testTarget(name: "SDCTLKitTests", dependencies: ["SDCTLKit", "TestSupport"]),
        .testTarget(name: "SDCTLEndToEndTests", dependencies: ["sdctl", "TestSupport"]),
    ]
)
