import Discovery
import GRPCCore
import GRPCNIOTransportHTTP2

#if canImport(Glibc)
    import Glibc
#endif

/// An etcd client's endpoints as gRPC sees them: one gRPC endpoint holding every address, in
/// the order given, so that pick-first connects to the first member that answers and, when
/// that connection is lost, goes down the list again.
///
/// gRPC's own IPv4 and IPv6 resolvers make one endpoint per address, and its pick-first policy
/// uses only the first endpoint: a dead first member would never be skipped. Its DNS resolver
/// takes a single name. This resolver takes any mix of IP literals and names, resolving names
/// each time gRPC asks (after a lost connection), so a member that moved is found again.
struct EtcdEndpoints: ResolvableTarget, Sendable {
    var endpoints: [HostPort]

    /// The name TLS verifies members against: the first endpoint's, when it is a name. With IP
    /// literals there is none and the peer's address is verified instead.
    var authority: String? {
        endpoints.first.flatMap { Self.isIPLiteral($0.host) ? nil : "\($0.host):\($0.port)" }
    }

    static func isIPLiteral(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// Every address of every endpoint, in order, without repeats.
    func resolve() throws -> NameResolutionResult {
        var addresses: [GRPCNIOTransportCore.SocketAddress] = []
        var failures: [String] = []
        for endpoint in endpoints {
            let port = Int(endpoint.port)
            let hosts = Self.isIPLiteral(endpoint.host) ? [endpoint.host] : Self.lookUp(endpoint.host)
            if hosts.isEmpty { failures.append(endpoint.host) }
            for host in hosts {
                let address: GRPCNIOTransportCore.SocketAddress =
                    host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port)
                if !addresses.contains(address) { addresses.append(address) }
            }
        }
        guard !addresses.isEmpty else {
            throw RPCError(
                code: .unavailable, message: "cannot resolve \(failures.joined(separator: ", "))")
        }
        return NameResolutionResult(endpoints: [Endpoint(addresses: addresses)], serviceConfig: nil)
    }

    /// The addresses of a name, as getaddrinfo gives them (it honours /etc/hosts).
    static func lookUp(_ name: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(list) }
        var hosts: [String] = []
        for entry in sequence(first: first, next: { $0.pointee.ai_next }) {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let family = entry.pointee.ai_family
            let text: UnsafePointer<CChar>? =
                switch family {
                case AF_INET:
                    entry.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                        var address = $0.pointee.sin_addr
                        return inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
                    }
                case AF_INET6:
                    entry.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                        var address = $0.pointee.sin6_addr
                        return inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
                    }
                default: nil
                }
            if text != nil {
                let host = String(
                    decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !hosts.contains(host) { hosts.append(host) }
            }
        }
        return hosts
    }
}

/// Makes resolvers for ``EtcdEndpoints``; registered with the client's transport.
struct EtcdEndpointsResolverFactory: NameResolverFactory {
    typealias Target = EtcdEndpoints

    func resolver(for target: EtcdEndpoints) -> NameResolver {
        NameResolver(
            names: RPCAsyncSequence(wrapping: Resolutions(target: target)), updateMode: .pull,
            authority: target.authority)
    }

    /// A fresh resolution each time gRPC pulls one.
    struct Resolutions: AsyncSequence, Sendable {
        typealias Element = NameResolutionResult
        let target: EtcdEndpoints

        func makeAsyncIterator() -> Iterator { Iterator(target: target) }

        struct Iterator: AsyncIteratorProtocol {
            let target: EtcdEndpoints
            func next() async throws -> NameResolutionResult? { try target.resolve() }
        }
    }
}
