// swift-tools-version: 6.1
import Foundation
import PackageDescription

// The sdctl package two folders up; SwiftPM names a path dependency after its folder.
let sdctl = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent()
    .deletingLastPathComponent()
let sdctlName = sdctl.lastPathComponent

let package = Package(
    name: "Greeter",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Only the file backend: no ZooKeeper, etcd, ... clients in this build.
        .package(path: sdctl.path, traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "greeter",
            dependencies: [
                .product(name: "Discovery", package: sdctlName),
                .product(name: "FileDiscovery", package: sdctlName),
                .product(name: "LoadBalancing", package: sdctlName),
                .product(name: "DiscoveryServiceLifecycle", package: sdctlName),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ])
    ]
)
