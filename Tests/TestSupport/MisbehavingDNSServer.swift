import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A UDP peer on a free loopback port that answers the way an attacker or a broken server
/// would, for the client's defences. For the replies it spoils it relays each query to a real
/// server (`upstream`, a Knot port) and alters what comes back.
public final class MisbehavingDNSServer: Sendable {
    public enum Behaviour: Sendable {
        /// The real reply with another id, and the real reply from another source port; never
        /// the real reply itself.
        case spoofOnly
        /// The spoofed replies of ``spoofOnly``, then the real reply.
        case spoofThenAnswer
        /// A reply with the query's id that ends in the middle of its question.
        case malformed
        /// Nothing at all.
        case silent
        /// The whole reply, as the upstream server gives it over TCP, in one UDP datagram
        /// whatever the size the query advertised; over TCP (on the same port number) the real
        /// reply.
        case oversized
        /// A UDP reply with TC set (so the client goes to TCP); over TCP, a length prefix of
        /// 1000 bytes and then ten of them, the connection held open and nothing more sent.
        case dripOverTCP
    }

    public let port: UInt16
    private let socket: Int32
    private let decoy: Int32
    /// A TCP listener on `port`, for ``Behaviour/oversized`` and ``Behaviour/dripOverTCP``; -1
    /// otherwise.
    private let listener: Int32
    private let upstream: UInt16
    private let behaviour: Behaviour
    private let stopped = Atomic<Bool>(false)
    /// Queries received.
    public let queries = Atomic<Int>(0)

    public init(behaviour: Behaviour, upstream: UInt16 = 0) {
        self.behaviour = behaviour
        self.upstream = upstream
        decoy = Self.udpSocket()
        let needsTCP =
            switch behaviour {
            case .oversized, .dripOverTCP: true
            default: false
            }
        (socket, port, listener) = Self.sockets(withTCP: needsTCP)
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        pthread_create(
            &thread, nil,
            { raw in
                let server = Unmanaged<MisbehavingDNSServer>.fromOpaque(raw!).takeRetainedValue()
                server.serve()
                return nil
            }, box.toOpaque())
        pthread_detach(thread)
    }

    /// Stops serving; the serving thread, which polls every 50 ms, closes the sockets when it
    /// sees this. Does not wait for it: a blocked thread of the cooperative pool would stall
    /// every other test running in parallel.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var held: [Int32] = []  // TCP connections of dripOverTCP, closed at the end
        defer { for fd in held { close(fd) } }
        while !stopped.load(ordering: .relaxed) {
            var pollers = [
                pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
            ]
            guard poll(&pollers, 2, 50) >= 1 else { continue }
            if pollers[1].revents != 0 {
                if case .dripOverTCP = behaviour {
                    let client = accept(listener, nil, nil)
                    if client >= 0 {
                        held.append(client)
                        _ = Self.writeAll(client, [0x03, 0xE8] + [UInt8](repeating: 0, count: 10))
                    }
                } else {
                    relayOverTCP()
                }
                continue
            }
            var client = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &client) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(socket, &buffer, buffer.count, 0, $0, &length)
                }
            }
            guard count >= 12 else { continue }
            queries.add(1, ordering: .relaxed)
            let query = Array(buffer[0..<count])
            switch behaviour {
            case .silent:
                continue
            case .oversized:
                // The whole answer, as TCP gets it, sent back in one datagram.
                guard
                    let framed = Self.exchangeOverTCP(
                        [UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query, port: upstream)
                else { continue }
                send(socket, Array(framed.dropFirst(2)), to: client)
            case .dripOverTCP:
                // The query's header with QR and TC set, and its question: "ask again over TCP".
                var reply = query
                reply[2] |= 0x82
                send(socket, reply, to: client)
            case .malformed:
                // QR set, one question claimed, and then nothing.
                send(socket, [query[0], query[1], 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x61], to: client)
            case .spoofOnly, .spoofThenAnswer:
                guard let answer = relay(query) else { continue }
                var wrongID = answer
                wrongID[0] ^= 0xFF
                send(socket, wrongID, to: client)
                send(decoy, answer, to: client)
                if case .spoofThenAnswer = behaviour {
                    usleep(20_000)
                    send(socket, answer, to: client)
                }
            }
        }
        close(socket)
        close(decoy)
        if listener >= 0 { close(listener) }
    }

    /// Takes one TCP connection and relays its one query to the upstream server over TCP.
    private func relayOverTCP() {
        let client = accept(listener, nil, nil)
        guard client >= 0 else { return }
        defer { close(client) }
        guard let query = Self.readFramed(client), let answer = Self.exchangeOverTCP(query, port: upstream)
        else { return }
        _ = Self.writeAll(client, answer)
    }

    /// Sends one length-prefixed query to a server's TCP port and returns its framed reply.
    private static func exchangeOverTCP(_ framed: [UInt8], port: UInt16) -> [UInt8]? {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var server = loopback(port)
        let connected = withUnsafePointer(to: &server) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0, writeAll(fd, framed) else { return nil }
        return readFramed(fd)
    }

    /// One length-prefixed DNS message, prefix included; nil after 2 s or at end of stream.
    private static func readFramed(_ fd: Int32) -> [UInt8]? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if bytes.count >= 2, bytes.count >= 2 + (Int(bytes[0]) << 8 | Int(bytes[1])) { return bytes }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 2000) == 1 else { return nil }
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            bytes += buffer[0..<count]
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    /// A UDP socket on a free port, and with `withTCP` a TCP listener on the same port number.
    /// The UDP port is free for UDP only: a TCP socket elsewhere (an outgoing connection's
    /// ephemeral port) may hold the same number, so a pair that cannot be had is tried again on
    /// another port (once, under the suite's load, the first try crashed the whole test run).
    private static func sockets(withTCP: Bool) -> (udp: Int32, port: UInt16, tcp: Int32) {
        for _ in 0..<100 {
            let udp = udpSocket()
            let port = localPort(udp)
            guard withTCP else { return (udp, port, -1) }
            if let tcp = tcpListener(port) { return (udp, port, tcp) }
            close(udp)
        }
        preconditionFailure("no port free for both UDP and TCP in 100 tries: errno \(errno)")
    }

    private static func tcpListener(_ port: UInt16) -> Int32? {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// The upstream server's reply to `query`.
    private func relay(_ query: [UInt8]) -> [UInt8]? {
        let relay = Self.udpSocket()
        defer { close(relay) }
        var server = Self.loopback(upstream)
        _ = withUnsafePointer(to: &server) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(relay, query, query.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var poller = pollfd(fd: relay, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 2000) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(relay, &buffer, buffer.count, 0)
        return count > 0 ? Array(buffer[0..<count]) : nil
    }

    private func send(_ fd: Int32, _ bytes: [UInt8], to client: sockaddr_in) {
        var client = client
        _ = withUnsafePointer(to: &client) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    private static func loopback(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private static func udpSocket() -> Int32 {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var address = loopback(0)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return fd
    }

    private static func localPort(_ fd: Int32) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }
}
