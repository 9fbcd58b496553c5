import AsyncHTTPClient
import Discovery
import Dispatch
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

extension HTTPTransport {
    /// The longest line a stream may send: an object of the size etcd allows (1.5 MiB) with
    /// room to spare.
    package static let streamLineLimit = 8 << 20

    /// How a line stream ended without an error.
    package enum StreamEnd: Sendable, Equatable {
        /// The server ended it (a watch's timeout).
        case ended
        /// `onLine` asked to stop.
        case stopped
    }

    /// Sends a GET whose 2xx answer is a stream of lines (a Kubernetes watch) and hands each
    /// non-empty line, without its line break, to `onLine` as it arrives.
    ///
    /// - `headerDeadline` bounds the wait for the answer's head; `idleTimeout` the silence
    ///   between two pieces of its body (a stalled stream is ``DiscoveryError/Code/timedOut``).
    /// - A line over `lineLimit` bytes is ``DiscoveryError/Code/invalidResponse``; so is a
    ///   stream cut off mid-line.
    /// - Not 2xx, the status is thrown as ``send(_:_:query:body:headers:timeout:what:)`` throws
    ///   it. `onLine` returns `false` to stop, or throws to end the stream with its error.
    /// - `onOpen` runs once a 2xx head has come, before the first line: the stream is live.
    package func streamLines(
        _ path: String, query: [(String, String?)] = [], headers extra: [(String, String)] = [],
        headerDeadline: Duration, idleTimeout: Duration, lineLimit: Int = streamLineLimit, what: String,
        onOpen: (@Sendable () -> Void)? = nil,
        onLine: @escaping @Sendable (ArraySlice<UInt8>) throws(DiscoveryError) -> Bool
    ) async throws(DiscoveryError) -> StreamEnd {
        let request = self.request(.GET, path, query: query, body: nil, headers: extra)
        logger.trace("\(service): stream", metadata: ["sd.method": "GET", "sd.path": "\(path)"])
        let http = self.http
        let activity = Activity()
        let prefix = "\(service): \(what)"
        let idle = UInt64(clamping: idleTimeout.nanoseconds)
        do {
            return try await withThrowingTaskGroup(of: StreamOutcome.self) { group in
                group.addTask {
                    let answer = try await http.execute(
                        request, timeout: .nanoseconds(headerDeadline.nanoseconds))
                    guard (200..<300).contains(answer.status.code) else {
                        return .refused(answer.status, try await Self.collect(answer, upTo: 64 << 10))
                    }
                    activity.touch()
                    onOpen?()
                    var reader = LineReader(limit: lineLimit, what: prefix)
                    for try await piece in answer.body {
                        activity.touch()
                        if try !reader.append(piece, onLine) { return .end(.stopped) }
                    }
                    guard reader.isEmpty else { return .truncated }
                    return .end(.ended)
                }
                group.addTask {
                    // The head has its own deadline (async-http-client's); the silence counts
                    // from the head and then from each piece.
                    while true {
                        guard let since = activity.nanosecondsSince else {
                            try await Task.sleep(for: idleTimeout)
                            continue
                        }
                        if since >= idle { return .idle }
                        try await Task.sleep(for: .nanoseconds(Int64(idle - since)))
                    }
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }.result(self, what: what, idleTimeout: idleTimeout, lineLimit: lineLimit)
        } catch {
            throw map(transport: error, what: what, deadline: headerDeadline)
        }
    }
}

/// When a stream last sent something (0: its head has not come yet).
private final class Activity: Sendable {
    private let last = Atomic<UInt64>(0)

    func touch() {
        last.store(max(DispatchTime.now().uptimeNanoseconds, 1), ordering: .relaxed)
    }

    /// How long since the last piece; `nil` before the head.
    var nanosecondsSince: UInt64? {
        let last = last.load(ordering: .relaxed)
        return last == 0 ? nil : DispatchTime.now().uptimeNanoseconds &- last
    }
}

private enum StreamOutcome: Sendable {
    case end(HTTPTransport.StreamEnd)
    case refused(HTTPResponseStatus, ByteBuffer)
    case idle
    case truncated

    func result(
        _ transport: HTTPTransport, what: String, idleTimeout: Duration, lineLimit: Int
    ) throws(DiscoveryError) -> HTTPTransport.StreamEnd {
        let prefix = "\(transport.service): \(what): \(transport.peer) \(transport.address)"
        switch self {
        case .end(let end):
            return end
        case .refused(let status, let body):
            throw transport.map(status: status, body: body, what: what)
        case .idle:
            let seconds = Double(idleTimeout.wholeMilliseconds) / 1000
            throw DiscoveryError(.timedOut, "\(prefix) sent nothing for \(seconds) s")
        case .truncated:
            throw DiscoveryError(.invalidResponse, "\(prefix) ended the stream in the middle of a line")
        }
    }
}

/// Splits a byte stream into lines, holding at most `limit` bytes of an unfinished one.
struct LineReader {
    let limit: Int
    /// What messages start with.
    let what: String
    private var partial: [UInt8] = []

    init(limit: Int, what: String) {
        self.limit = limit
        self.what = what
    }

    var isEmpty: Bool { partial.isEmpty }

    /// Hands every line completed by `piece` to `onLine`; `false` if it asked to stop.
    mutating func append(
        _ piece: ByteBuffer, _ onLine: (ArraySlice<UInt8>) throws(DiscoveryError) -> Bool
    ) throws(DiscoveryError) -> Bool {
        let bytes = piece.readableBytesView
        var start = bytes.startIndex
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line: ArraySlice<UInt8>
            if partial.isEmpty {
                line = ArraySlice(bytes[start..<newline])
            } else {
                partial.append(contentsOf: bytes[start..<newline])
                line = partial[...]
                partial = []
            }
            guard line.count <= limit else { throw tooLong }
            start = bytes.index(after: newline)
            let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
            if !trimmed.isEmpty, try !onLine(trimmed) { return false }
        }
        guard bytes.distance(from: start, to: bytes.endIndex) <= limit - partial.count else { throw tooLong }
        partial.append(contentsOf: bytes[start...])
        return true
    }

    private var tooLong: DiscoveryError {
        DiscoveryError(.invalidResponse, "\(what): a line of the stream is over \(limit >> 10) KiB")
    }
}
