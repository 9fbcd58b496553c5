import CMDNSSocket
import Discovery

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The multicast DNS sockets of one instancer or registrar: one UDP socket per address family
/// bound to port 5353 beside any other mDNS stack on the host (SO_REUSEADDR and SO_REUSEPORT,
/// as Avahi and python-zeroconf bind), joined to 224.0.0.251 and ff02::fb on each interface
/// used, and sending to those groups on each of them. Non-blocking; the owner waits with
/// poll(2). A family the host cannot use (no IPv6, or no interface with an address of it) is
/// left out; neither is an error.
final class MDNSSockets {
    /// An interface multicast goes out on.
    struct Interface: Sendable, Hashable {
        var name: String
        var index: UInt32
        var hasIPv4: Bool
        var hasIPv6: Bool
    }

    /// Where a datagram came from or goes to.
    struct Peer: Sendable, CustomStringConvertible {
        var address: sdctl_mdns_peer
        /// The interface it came in on, when it is one of ours: the zone of a link-local address
        /// it gives.
        var interface: String?
        var port: UInt16 { withUnsafePointer(to: address) { sdctl_mdns_peer_port($0) } }

        init(address: sdctl_mdns_peer, interface: String?) {
            self.address = address
            self.interface = interface
        }

        /// An IPv4 peer: for tests of the state machines, which never touch a socket.
        init(ipv4 bytes: [UInt8], port: UInt16, interface: String? = nil) {
            var address = sdctl_mdns_peer()
            withUnsafeMutableBytes(of: &address) { raw in
                // struct sockaddr_in: family (host order), port, address (network order).
                raw.storeBytes(of: UInt16(AF_INET), as: UInt16.self)
                raw[2] = UInt8(port >> 8)
                raw[3] = UInt8(port & 0xFF)
                for (index, byte) in bytes.prefix(4).enumerated() { raw[4 + index] = byte }
            }
            self.init(address: address, interface: interface)
        }
        var description: String {
            var text = [CChar](repeating: 0, count: 64)
            let result = withUnsafePointer(to: address) { sdctl_mdns_peer_text($0, &text, text.count) }
            guard result == 0 else { return "unknown" }
            let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    static let port: UInt16 = 5353
    /// RFC 6762 section 17: a multicast DNS packet is at most 9000 bytes.
    static let maximumPacket = 9000

    let interfaces: [Interface]
    let port: UInt16
    let ipv4: Int32
    let ipv6: Int32
    private var buffer = [UInt8](repeating: 0, count: maximumPacket + 1)

    /// Opens the sockets on `interface`, or on every interface that is up and multicast-capable
    /// and not the loopback.
    init(interface: String?, port: UInt16 = MDNSSockets.port) throws(DiscoveryError) {
        let interfaces = try Self.interfaces(named: interface)
        self.interfaces = interfaces
        self.port = port
        var ipv4: Int32 = -1
        var ipv6: Int32 = -1
        do throws(DiscoveryError) {
            if interfaces.contains(where: \.hasIPv4) {
                ipv4 = try Self.open(family: AF_INET, port: port, interfaces: interfaces.filter(\.hasIPv4))
            }
            if interfaces.contains(where: \.hasIPv6) {
                ipv6 = try Self.open(family: AF_INET6, port: port, interfaces: interfaces.filter(\.hasIPv6))
            }
        } catch {
            if ipv4 >= 0 { close(ipv4) }
            throw error
        }
        self.ipv4 = ipv4
        self.ipv6 = ipv6
    }

    deinit {
        if ipv4 >= 0 { close(ipv4) }
        if ipv6 >= 0 { close(ipv6) }
    }

    /// Sends `bytes` to both groups on every interface; returns the errors of the sends that
    /// failed (an interface going down is not the end of the others).
    @discardableResult
    func sendMulticast(_ bytes: [UInt8]) -> [String] {
        var errors: [String] = []
        for interface in interfaces {
            for (socket, family, has) in [
                (ipv4, AF_INET, interface.hasIPv4), (ipv6, AF_INET6, interface.hasIPv6),
            ]
            where has && socket >= 0 {
                let sent = bytes.withUnsafeBytes {
                    sdctl_mdns_send_group(socket, family, interface.index, port, $0.baseAddress, $0.count)
                }
                if sent < 0 {
                    errors.append(
                        "\(interface.name) \(family == AF_INET ? "IPv4" : "IPv6"): \(Self.describe(errno))")
                }
            }
        }
        return errors
    }

    /// Sends `bytes` to one peer (a unicast reply).
    func sendUnicast(_ bytes: [UInt8], to peer: Peer) -> String? {
        let socket = withUnsafePointer(to: peer.address) { sdctl_mdns_peer_is_ipv6($0) != 0 } ? ipv6 : ipv4
        guard socket >= 0 else { return "no socket of \(peer)'s family" }
        let sent = bytes.withUnsafeBytes { data in
            withUnsafePointer(to: peer.address) {
                sdctl_mdns_send_to(socket, $0, data.baseAddress, data.count)
            }
        }
        return sent < 0 ? Self.describe(errno) : nil
    }

    /// The next datagram waiting on `socket`, with its sender: `nil` when none is waiting,
    /// `.some(nil)` for one longer than 9000 bytes, which is dropped (it was cut to fit).
    func receive(on socket: Int32) -> (bytes: ArraySlice<UInt8>, from: Peer)?? {
        var peer = sdctl_mdns_peer()
        var index: UInt32 = 0
        let count = buffer.withUnsafeMutableBytes { raw in
            sdctl_mdns_receive(socket, raw.baseAddress, raw.count, &peer, &index)
        }
        guard count >= 0 else { return nil }
        guard count <= Self.maximumPacket else { return .some(nil) }
        let interface = interfaces.first { $0.index == index }?.name
        return (buffer[..<count], Peer(address: peer, interface: interface))
    }

    private static func open(family: Int32, port: UInt16, interfaces: [Interface]) throws(DiscoveryError)
        -> Int32
    {
        let name = family == AF_INET ? "IPv4" : "IPv6"
        let socket = sdctl_mdns_open(family, port)
        guard socket >= 0 else {
            throw DiscoveryError(.unavailable, "mDNS \(name) socket on port \(port): \(describe(errno))")
        }
        for interface in interfaces where sdctl_mdns_join(socket, family, interface.index) != 0 {
            let error = DiscoveryError(
                .unavailable,
                "mDNS \(name) socket: cannot join \(family == AF_INET ? "224.0.0.251" : "ff02::fb") on \(interface.name): \(describe(errno))"
            )
            close(socket)
            throw error
        }
        return socket
    }

    /// The interfaces multicast goes out on: `name`, which must be up and multicast-capable, or
    /// every such interface but the loopback.
    static func interfaces(named name: String?) throws(DiscoveryError) -> [Interface] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else {
            throw DiscoveryError(.unavailable, "cannot list network interfaces: \(describe(errno))")
        }
        defer { freeifaddrs(list) }
        var found: [String: Interface] = [:]
        var order: [String] = []
        var seen: [String: UInt32] = [:]
        var entry = list
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            let interfaceName = String(cString: current.pointee.ifa_name)
            let flags = current.pointee.ifa_flags
            seen[interfaceName] = flags
            guard let address = current.pointee.ifa_addr, flags & UInt32(IFF_UP) != 0,
                flags & UInt32(IFF_MULTICAST) != 0
            else { continue }
            if let name {
                guard interfaceName == name else { continue }
            } else if flags & UInt32(IFF_LOOPBACK) != 0 {
                continue
            }
            let family = Int32(address.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            if found[interfaceName] == nil {
                found[interfaceName] = Interface(
                    name: interfaceName, index: if_nametoindex(current.pointee.ifa_name), hasIPv4: false,
                    hasIPv6: false)
                order.append(interfaceName)
            }
            if family == AF_INET {
                found[interfaceName]!.hasIPv4 = true
            } else {
                found[interfaceName]!.hasIPv6 = true
            }
        }
        if let name {
            guard let flags = seen[name] else {
                throw DiscoveryError(.invalidArgument, "there is no network interface \(name)")
            }
            guard found[name] != nil else {
                let why =
                    flags & UInt32(IFF_UP) == 0
                    ? "is down" : flags & UInt32(IFF_MULTICAST) == 0 ? "has multicast off" : "has no address"
                throw DiscoveryError(.unavailable, "network interface \(name) \(why)")
            }
        }
        guard !order.isEmpty else {
            throw DiscoveryError(
                .unavailable, "no network interface is up with multicast on (name one with ?interface=NAME)")
        }
        return order.map { found[$0]! }
    }

    static func describe(_ code: Int32) -> String { String(cString: strerror(code)).lowercased() }
}
