import Discovery
import NIOCore

extension SocketAddress {
    /// The address of a DNS server: an IP literal is parsed as is, without getaddrinfo, whose
    /// interface scan (netlink) and nscd probe cost more than the query itself; anything else
    /// (`localhost`) is resolved.
    static func dnsServer(_ server: HostPort) throws -> SocketAddress {
        if let literal = try? SocketAddress(ipAddress: server.host, port: Int(server.port)) { return literal }
        return try SocketAddress.makeAddressResolvingHost(server.host, port: Int(server.port))
    }
}
