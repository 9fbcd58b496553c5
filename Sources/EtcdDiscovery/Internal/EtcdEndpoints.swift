#if canImport(Glibc)
    import Glibc
#endif

/// How an etcd client's endpoints become addresses: IP literals as they are, names through
/// getaddrinfo each time a connection is made (``GRPCChannel``), so a member that moved is
/// found again.
enum EtcdEndpoints {
    static func isIPLiteral(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
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
