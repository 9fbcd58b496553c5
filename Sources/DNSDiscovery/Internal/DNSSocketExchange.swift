import Discovery
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One query over a non-blocking socket of its own, waited on with poll(2) on the calling
/// thread: nothing of swift-nio but its address type. Every wait ends at `deadline` or when a
/// byte arrives on `cancellation`; the socket is closed whatever happens. The reply is checked
/// as on the event loops (``DNSReplyMatcher``), and a UDP socket is connected, so that the
/// kernel delivers only the server's datagrams and reports an ICMP port-unreachable.
struct DNSSocketExchange {
    let server: SocketAddress
    let overTCP: Bool
    let deadline: ContinuousClock.Instant
    /// Readable when the exchange is to end (``DNSSocketExchange/onNewThread(_:matcher:server:overTCP:deadline:)``).
    let cancellation: Int32

    private var transport: String { overTCP ? "TCP" : "UDP" }

    /// Runs the exchange on a thread of its own (a blocking wait must not hold a thread of the
    /// shared pool); cancelling the calling task ends it at once.
    static func onNewThread(
        _ query: [UInt8], matcher: DNSReplyMatcher, server: SocketAddress, overTCP: Bool,
        deadline: ContinuousClock.Instant
    ) async throws(DiscoveryError) -> DNSMessage {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0
        else {
            throw DiscoveryError(.unavailable, "cannot make a socket pair: \(Self.describe(errno))")
        }
        // Closed only after the thread has resumed the continuation and the cancellation
        // handler is gone: neither can use a descriptor number that was reused.
        defer {
            close(ends[0])
            close(ends[1])
        }
        let exchange = DNSSocketExchange(
            server: server, overTCP: overTCP, deadline: deadline, cancellation: ends[0])
        let cancel = ends[1]
        let result = await withTaskCancellationHandler {
            // Checked, as the other hand-offs from runOnNewThread are: its resume is a
            // synchronisation ThreadSanitizer sees (the unsafe one's is in the uninstrumented runtime).
            await withCheckedContinuation {
                (continuation: CheckedContinuation<Result<DNSMessage, DiscoveryError>, Never>) in
                runOnNewThread {
                    continuation.resume(
                        returning: Result { () throws(DiscoveryError) in
                            try exchange.run(query, matcher: matcher)
                        })
                }
            }
        } onCancel: {
            var byte: UInt8 = 1
            _ = write(cancel, &byte, 1)
        }
        return try result.get()
    }

    /// Sends `query` and returns the reply `matcher` accepts.
    func run(_ query: [UInt8], matcher: DNSReplyMatcher) throws(DiscoveryError) -> DNSMessage {
        let type = overTCP ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue
        let socket = Glibc.socket(
            Int32(server.protocol.rawValue),
            Int32(type) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard socket >= 0 else { throw failure(errno) }
        defer { close(socket) }
        if server.withSockAddr({ connect(socket, $0, socklen_t($1)) }) != 0 {
            guard errno == EINPROGRESS else { throw failure(errno) }
            try wait(socket, for: POLLOUT)
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { throw failure(errno) }
            if error != 0 { throw failure(error) }
        }
        if overTCP {
            try sendAll([UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query, on: socket)
            return try receiveStream(on: socket, matcher: matcher)
        }
        try sendAll(query, on: socket)
        return try receiveDatagram(on: socket, matcher: matcher)
    }

    /// Datagrams are read into a buffer one byte larger than the advertised payload size, so a
    /// fuller one was cut short: only its header is whole, and one of ours is taken as truncated.
    private func receiveDatagram(on socket: Int32, matcher: DNSReplyMatcher) throws(DiscoveryError)
        -> DNSMessage
    {
        let limit = DNSTransport.datagramLimit
        var buffer = [UInt8](repeating: 0, count: limit + 1)
        while true {
            try wait(socket, for: POLLIN)
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count >= 0 else {
                if errno == EAGAIN || errno == EINTR { continue }
                throw failure(errno)
            }
            let result = buffer.withUnsafeBytes { raw -> Result<DNSMessage, DiscoveryError>? in
                let datagram = UnsafeRawBufferPointer(rebasing: raw[..<count])
                guard count <= limit else {
                    return matcher.isOurResponseHeader(datagram) ? .failure(.oversizedReply) : nil
                }
                return matcher.match(datagram)
            }
            if let result { return try result.get() }
        }
    }

    /// Messages follow their two-byte length (RFC 1035 section 4.2.2); what is held is at most
    /// one message and one read.
    private func receiveStream(on socket: Int32, matcher: DNSReplyMatcher) throws(DiscoveryError)
        -> DNSMessage
    {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            while received.count >= 2 {
                let length = Int(received[0]) << 8 | Int(received[1])
                guard received.count >= 2 + length else { break }
                let result = received.withUnsafeBytes {
                    matcher.match(UnsafeRawBufferPointer(rebasing: $0[2..<(2 + length)]))
                }
                received.removeFirst(2 + length)
                if let result { return try result.get() }
            }
            try wait(socket, for: POLLIN)
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 {
                throw DiscoveryError(
                    .unavailable, "\(server.dnsDescription) closed the connection before answering")
            }
            guard count > 0 else {
                if errno == EAGAIN || errno == EINTR { continue }
                throw failure(errno)
            }
            received += chunk[..<count]
        }
    }

    private func sendAll(_ bytes: [UInt8], on socket: Int32) throws(DiscoveryError) {
        var sent = 0
        while sent < bytes.count {
            try wait(socket, for: POLLOUT)
            let count = bytes.withUnsafeBytes {
                send(socket, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
            }
            guard count >= 0 else {
                if errno == EAGAIN || errno == EINTR { continue }
                throw failure(errno)
            }
            sent += count
        }
    }

    /// Returns when `socket` has one of `events` (or an error, which the next call reports);
    /// throws at the deadline or on cancellation.
    private func wait(_ socket: Int32, for events: Int32) throws(DiscoveryError) {
        while true {
            let left = deadline - .now
            guard left > .zero else {
                throw DiscoveryError(
                    .unavailable, "no answer from \(server.dnsDescription) over \(transport) in time")
            }
            let (seconds, attoseconds) = left.components
            // Rounded up: a wait cut short of the deadline would only be repeated.
            let milliseconds = Int32(
                clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            var descriptors = [
                pollfd(fd: socket, events: Int16(events), revents: 0),
                pollfd(fd: cancellation, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&descriptors, 2, milliseconds) < 0 {
                if errno == EINTR { continue }
                throw failure(errno)
            }
            if descriptors[1].revents != 0 { throw DiscoveryError(.stopped, "query cancelled") }
            if descriptors[0].revents != 0 { return }
        }
    }

    private func failure(_ code: Int32) -> DiscoveryError {
        DiscoveryError(.unavailable, "\(server.dnsDescription) over \(transport): \(Self.describe(code))")
    }

    private static func describe(_ code: Int32) -> String { String(cString: strerror(code)).lowercased() }
}
