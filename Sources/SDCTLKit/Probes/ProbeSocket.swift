#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A non-blocking TCP socket whose every wait is a `poll(2)` bounded by a deadline on the
/// monotonic clock: what a ``Probe`` uses, on a thread of its own.
struct ProbeSocket {
    let descriptor: Int32

    /// Connects to the first of `host`'s addresses that accepts before `deadline`.
    static func connect(host: String, port: UInt16, deadline: UInt64) -> Result<ProbeSocket, ProbeFailure> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else {
            return .failure(ProbeFailure("cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(list) }
        var failure = ProbeFailure("no address for \(host)")
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            entry = current.pointee.ai_next
            let fd = socket(
                current.pointee.ai_family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                    | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                failure = ProbeFailure(String(cString: strerror(errno)))
                continue
            }
            let socket = ProbeSocket(descriptor: fd)
            if Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
                return .success(socket)
            }
            guard errno == EINPROGRESS else {
                failure = ProbeFailure(String(cString: strerror(errno)))
                socket.close()
                continue
            }
            do throws(ProbeFailure) {
                try socket.wait(for: Int16(POLLOUT), deadline: deadline, doing: "connecting")
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                guard error == 0 else { throw ProbeFailure(String(cString: strerror(error))) }
                return .success(socket)
            } catch {
                failure = error
                socket.close()
            }
        }
        return .failure(failure)
    }

    /// Writes all of `bytes`.
    func send(_ bytes: [UInt8], deadline: UInt64) throws(ProbeFailure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written >= 0 {
                offset += written
            } else if errno == EAGAIN || errno == EINTR {
                try wait(for: Int16(POLLOUT), deadline: deadline, doing: "sending the request")
            } else {
                throw ProbeFailure(String(cString: strerror(errno)))
            }
        }
    }

    /// Reads up to the first CRLF (not included); at most `limit` bytes.
    func receiveLine(limit: Int, deadline: UInt64) throws(ProbeFailure) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            if let end = received.firstIndex(of: 0x0D), end + 1 < received.count, received[end + 1] == 0x0A {
                return Array(received[..<end])
            }
            guard received.count < limit else { throw ProbeFailure("no status line in \(limit) bytes") }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += buffer[..<count]
            } else if count == 0 {
                throw ProbeFailure(received.isEmpty ? "closed without answering" : "not an HTTP/1 answer")
            } else if errno == EAGAIN || errno == EINTR {
                try wait(for: Int16(POLLIN), deadline: deadline, doing: "waiting for the answer")
            } else {
                throw ProbeFailure(String(cString: strerror(errno)))
            }
        }
    }

    /// Waits until the socket is ready for `events`, or throws at `deadline`.
    func wait(for events: Int16, deadline: UInt64, doing what: String) throws(ProbeFailure) {
        while true {
            let now = monotonicNanoseconds()
            guard now < deadline else { throw ProbeFailure("timed out \(what)") }
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let milliseconds = Int32(min((deadline - now + 999_999) / 1_000_000, UInt64(Int32.max)))
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0, errno != EINTR { throw ProbeFailure(String(cString: strerror(errno))) }
        }
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}
