import Discovery
import Logging

/// Publishes an instance as an EndpointSlice of its own in a Service, the way controllers that
/// mirror endpoints from outside the cluster do (a Service without a selector): `sdctl bench
/// propagation` uses it to change a Service's endpoints. Kubernetes itself derives the slices of
/// a Service with a selector from its pods; this is not how a pod registers.
///
/// The slice is named `SERVICE-sdctl-HASH` after the instance's address, labelled
/// `kubernetes.io/service-name=SERVICE` and `endpointslice.kubernetes.io/managed-by=sdctl`, and
/// holds one ready endpoint with the instance's zone, on port `portName` (unnamed if `nil`).
/// ``deregister()`` deletes it. Nothing removes it if the process dies.
public final class EndpointSliceRegistrar: Registrar {
    public let instance: Instance
    private let client: KubernetesClient
    private let namespace: String
    private let body: EndpointSliceBody
    private let lifecycle = RegistrarLifecycle<String>()

    public init(
        client: KubernetesClient, namespace: String, service: String, instance: Instance,
        portName: String? = nil
    ) throws(DiscoveryError) {
        let address = try HostPort(parsing: instance.address)
        let addressType =
            address.host.contains(":")
            ? "IPv6" : (address.host.allSatisfy { $0.isNumber || $0 == "." } ? "IPv4" : "FQDN")
        self.client = client
        self.namespace = namespace
        self.instance = instance
        body = EndpointSliceBody(
            metadata: .init(
                name: "\(service.prefix(40))-sdctl-\(Self.hash(instance.address))",
                labels: [
                    "kubernetes.io/service-name": service, "endpointslice.kubernetes.io/managed-by": "sdctl",
                ]),
            addressType: addressType,
            endpoints: [
                .init(addresses: [address.host], conditions: .init(ready: true), zone: instance.zone)
            ],
            ports: [.init(name: portName, port: Int(address.port))])
    }

    /// FNV-1a of the address, 16 hex digits: a stable, DNS-safe name per instance.
    static func hash(_ text: String) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    public func register() async throws {
        try await lifecycle.register { () async throws(DiscoveryError) -> String in
            try await client.putEndpointSlice(body, namespace: namespace)
            return body.metadata.name
        }
    }

    public func deregister() async throws {
        try await lifecycle.deregister { _, _ in
            try await self.client.deleteEndpointSlice(self.body.metadata.name, namespace: self.namespace)
        }
    }
}
