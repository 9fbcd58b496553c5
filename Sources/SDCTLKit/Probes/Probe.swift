import Discovery
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A check that an address answers: a TCP connection that opens, or an HTTP/1.1 GET whose
/// status is 2xx.
///
/// Each check runs its blocking socket calls on a thread of its own, never on the concurrency
/// pool, and ends within ``timeout`` whatever the peer does.
struct Probe: Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        case tcp
        /// `path` starts with `/`.
        case http(path: String)
    }

    var kind: Kind
    var timeout: Duration

    /// How many checks ``checkAll(_:)`` runs at once.
    static let concurrency = 32

    /// `tcp`, `http` or `http:/path`
    var description: String {
        switch kind {
        case .tcp: "tcp"
        case .http(let path): "http:\(path)"
        }
    }

    /// Checks `address` once.
    func check(_ address: HostPort) async -> ProbeResult {
        let probe = self
        return await withCheckedContinuation { continuation in
            runOnNewThread { continuation.resume(returning: probe.checkBlocking(address)) }
        }
    }

    /// Checks every address, at most ``concurrency`` at once; the results are in the order of
    /// `addresses`. Each of up to ``concurrency`` threads takes the next address until none is
    /// left: no thread is made per check, and none waits for a shared pool.
    func checkAll(_ addresses: [HostPort]) async -> [ProbeResult] {
        guard !addresses.isEmpty else { return [] }
        let probe = self
        return await withCheckedContinuation { continuation in
            runOnNewThread {
                let results = Mutex([ProbeResult?](repeating: nil, count: addresses.count))
                let next = Atomic<Int>(0)
                runOnThreads(min(Self.concurrency, addresses.count)) { _ in
                    while true {
                        let index = next.add(1, ordering: .relaxed).oldValue
                        guard index < addresses.count else { return }
                        let result = probe.checkBlocking(addresses[index])
                        results.withLock { $0[index] = result }
                    }
                }
                continuation.resume(returning: results.withLock { $0.map { $0! } })
            }
        }
    }

    func checkBlocking(_ address: HostPort) -> ProbeResult {
        let start = monotonicNanoseconds()
        let deadline =
            start + UInt64(timeout.components.seconds) * 1_000_000_000
            + UInt64(timeout.components.attoseconds / 1_000_000_000)
        func elapsed() -> Duration { .nanoseconds(Int64(monotonicNanoseconds() - start)) }
        let socket: ProbeSocket
        switch ProbeSocket.connect(host: address.host, port: address.port, deadline: deadline) {
        case .success(let connected): socket = connected
        case .failure(let failure):
            return ProbeResult(reachable: false, latency: elapsed(), failure: failure.reason)
        }
        defer { socket.close() }
        guard case .http(let path) = kind else { return ProbeResult(reachable: true, latency: elapsed()) }
        let request =
            "GET \(path) HTTP/1.1\r\nHost: \(address)\r\nUser-Agent: sdctl/\(SDCTL.version)\r\n"
            + "Accept: */*\r\nConnection: close\r\n\r\n"
        do throws(ProbeFailure) {
            try socket.send(Array(request.utf8), deadline: deadline)
            let statusLine = try socket.receiveLine(limit: 8192, deadline: deadline)
            let status = try Self.status(of: statusLine)
            let reachable = (200..<300).contains(status)
            return ProbeResult(
                reachable: reachable, latency: elapsed(), status: status,
                failure: reachable ? nil : "HTTP \(status)")
        } catch {
            return ProbeResult(reachable: false, latency: elapsed(), failure: error.reason)
        }
    }

    /// The status code of an HTTP/1.x status line (`HTTP/1.1 204 No Content`).
    static func status(of line: [UInt8]) throws(ProbeFailure) -> Int {
        let text = String(decoding: line, as: UTF8.self)
        let words = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard words.count >= 2, words[0].hasPrefix("HTTP/1."), words[1].count == 3,
            let status = Int(words[1]), (100..<600).contains(status)
        else {
            throw ProbeFailure("not an HTTP/1 answer")
        }
        return status
    }
}

/// Why a probe failed, in words for a person.
struct ProbeFailure: Error, Sendable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// What one check found.
struct ProbeResult: Sendable, Equatable {
    var reachable: Bool
    /// Until the connection opened (tcp) or the status line arrived (http); until the failure
    /// otherwise.
    var latency: Duration
    /// The HTTP status, for an http probe that got one.
    var status: Int? = nil
    var failure: String? = nil
}
