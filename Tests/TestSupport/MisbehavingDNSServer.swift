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
    }

    public let port: UInt16
    private let socket: Int32
    private let decoy: Int32
    private let upstream: UInt16
    private let behaviour: Behaviour
    private let stopped = Atomic<Bool>(false)
    /// Queries received.
    public let queries = Atomic<Int>(0)

    public init(behaviour: Behaviour, upstream: UInt16 = 0) {
        self.behaviour = behaviour
        self.upstream = upstream
        socket = Self.udpSocket()
        decoy = Self.udpSocket()
        port = Self.localPort(socket)
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
        while !stopped.load(ordering: .relaxed) {
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) == 1 else { continue }
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
