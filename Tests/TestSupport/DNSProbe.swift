import Foundation

/// Asks a DNS server one question over UDP, the way a readiness check would, with nothing of
/// the client under test: a fixture that says a server is up has seen it answer.
enum DNSProbe {
    /// Whether the server at `host` (an IPv4 or IPv6 literal) and `port` answers an SOA query
    /// for `name` within `timeout`, asking again every 250 ms. Any answer with the query's id
    /// counts, whatever its response code. Blocks the calling thread.
    static func answers(host: String, port: Int, name: String, timeout: Duration) -> Bool {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let info = list else { return false }
        defer { freeaddrinfo(list) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else { return false }
        var wait = timeval(tv_sec: 0, tv_usec: 250_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))

        let id = UInt16.random(in: 0...UInt16.max)
        let query = self.query(id: id, name: name)
        let deadline = ContinuousClock.now + timeout
        var reply = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            _ = send(fd, query, query.count, 0)
            let count = recv(fd, &reply, reply.count, 0)
            // A refused port (ICMP) fails the read at once: wait out the slot before asking again.
            if count >= 12, reply[0] == UInt8(id >> 8), reply[1] == UInt8(id & 0xFF), reply[2] & 0x80 != 0 {
                return true
            }
            if count < 0, errno == ECONNREFUSED { usleep(250_000) }
        }
        return false
    }

    /// A standard query with one question: `name` IN SOA, recursion not desired.
    private static func query(id: UInt16, name: String) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") {
            bytes.append(UInt8(label.utf8.count))
            bytes += label.utf8
        }
        bytes += [0, 0, 6, 0, 1]
        return bytes
    }
}
