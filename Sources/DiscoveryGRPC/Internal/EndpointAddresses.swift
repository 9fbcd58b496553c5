#if GRPC
    import Discovery
    import GRPCNIOTransportCore

    #if canImport(Glibc)
        import Glibc
    #elseif canImport(Musl)
        import Musl
    #elseif canImport(Darwin)
        import Darwin
    #endif

    /// gRPC endpoints for a set of instances: IP literals as they are, host names looked up.
    enum EndpointAddresses {
        static func endpoints(for instances: [Instance]) async -> [Endpoint] {
            var endpoints: [Endpoint] = []
            endpoints.reserveCapacity(instances.count)
            for instance in instances {
                guard let hostPort = try? HostPort(parsing: instance.address) else { continue }
                let port = Int(hostPort.port)
                if let literal = literal(hostPort.host, port: port) {
                    endpoints.append(Endpoint(addresses: [literal]))
                } else {
                    let addresses = await lookUp(hostPort.host, port: port)
                    if !addresses.isEmpty { endpoints.append(Endpoint(addresses: addresses)) }
                }
            }
            return endpoints
        }

        /// The address if `host` is an IPv4 or IPv6 literal.
        static func literal(_ host: String, port: Int) -> SocketAddress? {
            var v4 = in_addr()
            if inet_pton(AF_INET, host, &v4) == 1 { return .ipv4(host: host, port: port) }
            var v6 = in6_addr()
            if inet_pton(AF_INET6, host, &v6) == 1 { return .ipv6(host: host, port: port) }
            return nil
        }

        /// `getaddrinfo` on a thread of its own (it blocks), for TCP addresses of `host`.
        static func lookUp(_ host: String, port: Int) async -> [SocketAddress] {
            await withCheckedContinuation { continuation in
                runOnNewThread {
                    var hints = addrinfo()
                    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                    hints.ai_flags = AI_ADDRCONFIG
                    var list: UnsafeMutablePointer<addrinfo>?
                    guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else {
                        continuation.resume(returning: [])
                        return
                    }
                    defer { freeaddrinfo(first) }
                    var addresses: [SocketAddress] = []
                    var seen = Set<String>()
                    for entry in sequence(first: first, next: { $0.pointee.ai_next }) {
                        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                        guard let address = entry.pointee.ai_addr,
                            getnameinfo(
                                address, entry.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0,
                                NI_NUMERICHOST)
                                == 0
                        else { continue }
                        let literalText = String(
                            decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                        guard seen.insert(literalText).inserted, let made = literal(literalText, port: port)
                        else {
                            continue
                        }
                        addresses.append(made)
                    }
                    continuation.resume(returning: addresses)
                }
            }
        }
    }
#endif
