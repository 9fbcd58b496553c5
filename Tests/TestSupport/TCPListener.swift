import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A listening TCP socket on a free loopback port that accepts nothing itself (the kernel
/// completes connections into its backlog): a port that "is up" for a TCP health check.
public final class TCPListener: Sendable {
    public let port: Int
    private let descriptor: Mutex<Int32?>

    /// Listens on `port`, or on a port the kernel chooses when it is 0.
    public init(port: Int = 0) throws {
        // Close-on-exec: a process the tests start meanwhile (a server, sdctl) must not inherit
        // the socket and keep the port listening after close().
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 128) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard fd >= 0, ok else {
            _ = Glibc.close(fd)
            throw ServerProcesses.Unavailable("cannot listen on 127.0.0.1: errno \(errno)")
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        descriptor = Mutex(fd)
    }

    /// Stops listening: connections are refused from now on. Idempotent.
    public func close() {
        if let fd = descriptor.withLock({ fd in
            defer { fd = nil }
            return fd
        }) {
            _ = Glibc.close(fd)
        }
    }

    deinit { close() }
}
