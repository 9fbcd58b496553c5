import Discovery
import DiscoveryHTTP
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension KubernetesClient {
    /// `/apis/discovery.k8s.io/v1/namespaces/NS/endpointslices`.
    static func endpointSlicesPath(_ namespace: String) -> String {
        "/apis/discovery.k8s.io/v1/namespaces/\(PercentEncoding.encode(namespace))/endpointslices"
    }

    static func selector(_ service: String) -> (String, String?) {
        ("labelSelector", "kubernetes.io/service-name=\(service)")
    }

    /// Every EndpointSlice of `service`, page by page over one consistent snapshot, and the
    /// resource version to watch from. A continue token that expired between pages (410)
    /// starts the list again, at most three times.
    func endpointSlices(
        namespace: String, service: String, maximumSlices: Int
    ) async throws(DiscoveryError) -> (items: [EndpointSlice], resourceVersion: String) {
        let what = "listing the EndpointSlices of service \(service) in namespace \(namespace)"
        var restarts = 0
        var items: [EndpointSlice] = []
        var token: String?
        while true {
            var query = [Self.selector(service), ("limit", "\(configuration.pageSize)")]
            if let token { query.append(("continue", token)) }
            let page: EndpointSliceList
            do {
                let answer = try await withCredentials { transport, headers throws(DiscoveryError) in
                    try await transport.send(
                        .GET, Self.endpointSlicesPath(namespace), query: query, headers: headers,
                        what: what)
                }
                page = try transport.decode(EndpointSliceList.self, answer.body, what: what)
            } catch  where token != nil && error.kubernetesStatus?.isGone == true && restarts < 3 {
                restarts += 1
                items = []
                token = nil
                continue
            }
            items += page.items ?? []
            guard items.count <= maximumSlices else {
                throw DiscoveryError(
                    .invalidResponse, "k8s: \(what): more than \(maximumSlices) EndpointSlices")
            }
            if let next = page.metadata.continue, !next.isEmpty {
                token = next
                continue
            }
            guard let version = page.metadata.resourceVersion, !version.isEmpty else {
                throw DiscoveryError(.invalidResponse, "k8s: \(what): the list has no resourceVersion")
            }
            return (items, version)
        }
    }

    /// Watches the EndpointSlices of `service` from `resourceVersion`, handing each event to
    /// `onEvent` until the server ends the stream (after about `timeout`), `onEvent` returns
    /// `false`, or something fails. A line that is not an event is
    /// ``DiscoveryError/Code/invalidResponse``.
    func watchEndpointSlices(
        namespace: String, service: String, from resourceVersion: String, timeout: Duration,
        idleTimeout: Duration, onOpen: (@Sendable () -> Void)? = nil,
        onEvent: @escaping @Sendable (EndpointSliceEvent) throws(DiscoveryError) -> Bool
    ) async throws(DiscoveryError) -> HTTPTransport.StreamEnd {
        let what = "watching the EndpointSlices of service \(service) in namespace \(namespace)"
        let query: [(String, String?)] = [
            Self.selector(service), ("watch", "true"), ("resourceVersion", resourceVersion),
            ("allowWatchBookmarks", "true"), ("timeoutSeconds", "\(max(timeout.components.seconds, 1))"),
        ]
        return try await withCredentials { transport, headers throws(DiscoveryError) in
            try await transport.streamLines(
                Self.endpointSlicesPath(namespace), query: query, headers: headers,
                headerDeadline: configuration.connectTimeout + configuration.requestTimeout,
                idleTimeout: idleTimeout,
                what: what, onOpen: onOpen
            ) { line throws(DiscoveryError) in
                let event: EndpointSliceEvent
                do {
                    event = try JSONDecoder().decode(EndpointSliceEvent.self, from: Data(line))
                } catch {
                    throw DiscoveryError(
                        .invalidResponse,
                        "k8s: \(what): an undecodable event (\(HTTPTransport.describe(decoding: error)))",
                        cause: error)
                }
                return try onEvent(event)
            }
        }
    }

    /// Whether the Service exists (to say why a Service has no endpoints).
    func serviceExists(namespace: String, service: String) async throws(DiscoveryError) -> Bool {
        let path =
            "/api/v1/namespaces/\(PercentEncoding.encode(namespace))/services/\(PercentEncoding.encode(service))"
        do {
            _ = try await withCredentials { transport, headers throws(DiscoveryError) in
                try await transport.send(
                    .GET, path, headers: headers,
                    what: "reading service \(service) in namespace \(namespace)")
            }
            return true
        } catch  where error.code == .notFound {
            return false
        }
    }
}

extension DiscoveryError {
    /// The API server's Status behind this error, if it gave one.
    public var kubernetesStatus: KubernetesStatus? { cause as? KubernetesStatus }
}
