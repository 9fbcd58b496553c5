import Discovery
import DiscoveryHTTP
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension KubernetesClient {
    /// Creates `slice` in `namespace`; one of that name already there is replaced.
    func putEndpointSlice(_ slice: EndpointSliceBody, namespace: String) async throws(DiscoveryError) {
        let body: [UInt8]
        do {
            body = Array(try JSONEncoder().encode(slice))
        } catch {
            throw DiscoveryError(
                .invalidArgument, "k8s: cannot encode EndpointSlice \(slice.metadata.name)", cause: error)
        }
        let what = "writing EndpointSlice \(slice.metadata.name) in namespace \(namespace)"
        do {
            _ = try await withCredentials { transport, headers throws(DiscoveryError) in
                try await transport.send(
                    .POST, Self.endpointSlicesPath(namespace), body: body, headers: headers,
                    what: what)
            }
        } catch  where error.kubernetesStatus?.reason == "AlreadyExists" {
            _ = try await withCredentials { transport, headers throws(DiscoveryError) in
                try await transport.send(
                    .PUT,
                    Self.endpointSlicesPath(namespace) + "/" + PercentEncoding.encode(slice.metadata.name),
                    body: body, headers: headers, what: what)
            }
        }
    }

    /// Deletes EndpointSlice `name`; one already gone is fine.
    func deleteEndpointSlice(_ name: String, namespace: String) async throws(DiscoveryError) {
        do {
            _ = try await withCredentials { transport, headers throws(DiscoveryError) in
                try await transport.send(
                    .DELETE, Self.endpointSlicesPath(namespace) + "/" + PercentEncoding.encode(name),
                    headers: headers,
                    what: "deleting EndpointSlice \(name) in namespace \(namespace)")
            }
        } catch  where error.code == .notFound {
            return
        }
    }
}

/// An EndpointSlice as written: one endpoint, one port.
struct EndpointSliceBody: Encodable, Sendable {
    struct Metadata: Encodable, Sendable {
        var name: String
        var labels: [String: String]
    }

    struct Endpoint: Encodable, Sendable {
        struct Conditions: Encodable, Sendable {
            var ready: Bool
        }

        var addresses: [String]
        var conditions: Conditions
        var zone: String?
    }

    struct Port: Encodable, Sendable {
        var name: String?
        var port: Int
        var `protocol` = "TCP"
    }

    var apiVersion = "discovery.k8s.io/v1"
    var kind = "EndpointSlice"
    var metadata: Metadata
    var addressType: String
    var endpoints: [Endpoint]
    var ports: [Port]
}
