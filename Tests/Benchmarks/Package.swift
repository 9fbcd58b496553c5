// swift-tools-version: 6.1
// Micro-benchmarks for the toolkit, kept in their own package so that ordo-one/benchmark and
// its dependencies stay out of the main package graph. Run from this directory:
//   swift package --allow-writing-to-package-directory benchmark
// docs/benchmarks.md describes the go-kit comparison.
import PackageDescription

let package = Package(
    name: "sdctl-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "sdctl", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "DiscoveryBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Discovery", package: "sdctl"),
                .product(name: "LoadBalancing", package: "sdctl"),
                .product(name: "DNSDiscovery", package: "sdctl"),
                .product(name: "EtcdDiscovery", package: "sdctl"),
            ],
            path: "Benchmarks/DiscoveryBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // etcd-calls-go's loops with sdctl's client, CPU per call included (etcd-calls-cpu).
        .executableTarget(
            name: "EtcdCalls",
            dependencies: [
                .product(name: "Discovery", package: "sdctl"),
                .product(name: "EtcdDiscovery", package: "sdctl"),
            ],
            path: "EtcdCalls"
        ),
    ]
)
