// swift-tools-version: 6.0
// libFuzzer targets for the parsers of untrusted bytes, kept in their own package so that
// their sanitizer flags never touch the main build. Built and run by Tests/fuzz.sh.
import PackageDescription

let package = Package(
    name: "sdctl-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "sdctl", path: "../..")],
    targets: [
        .target(name: "CLibFuzzer"),
        // The DNS reply decoder (DNSDiscovery's DNSMessage(decoding:)).
        .executableTarget(
            name: "DNSReplyFuzzer",
            dependencies: ["CLibFuzzer", .product(name: "DNSDiscovery", package: "sdctl")]
        ),
        // The etcd client's gRPC connection: swift-nio-http2 and GRPCConnectionHandler fed a
        // hostile server's bytes (EtcdDiscovery's GRPCConnectionFuzzing).
        .executableTarget(
            name: "GRPCConnectionFuzzer",
            dependencies: ["CLibFuzzer", .product(name: "EtcdDiscovery", package: "sdctl")]
        ),
        // The HTTP backends' answers: Consul's health entries and Eureka's instances, found by
        // DiscoveryHTTP's JSONArrayScanner and decoded one by one (the packages' AnswerFuzzing).
        .executableTarget(
            name: "HTTPAnswerFuzzer",
            dependencies: [
                "CLibFuzzer", .product(name: "ConsulDiscovery", package: "sdctl"),
                .product(name: "EurekaDiscovery", package: "sdctl"),
            ]
        ),
        // The Kubernetes backend: kubeconfig YAML, watch lines, list pages and exec plugins'
        // ExecCredentials (KubernetesDiscovery's KubernetesFuzzing).
        .executableTarget(
            name: "KubernetesFuzzer",
            dependencies: ["CLibFuzzer", .product(name: "KubernetesDiscovery", package: "sdctl")]
        ),
        // Multicast DNS: runs of hostile packets through the DNS decoder and the querier's and
        // responder's state machines (DNSDiscovery's MDNSFuzzing).
        .executableTarget(
            name: "MDNSFuzzer",
            dependencies: ["CLibFuzzer", .product(name: "DNSDiscovery", package: "sdctl")]
        ),
        // The layouts that store JSON: Curator's ServiceInstance on ZooKeeper, etcd's gRPC
        // naming updates (CuratorServiceInstance, GRPCNamingUpdate).
        .executableTarget(
            name: "LayoutFuzzer",
            dependencies: [
                "CLibFuzzer", .product(name: "ZooKeeperDiscovery", package: "sdctl"),
                .product(name: "EtcdDiscovery", package: "sdctl"),
                .product(name: "Discovery", package: "sdctl"),
            ]
        ),
    ]
)
