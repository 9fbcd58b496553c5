import AsyncHTTPClient
import Discovery
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A server's own account of why it refused a request.
package protocol RefusalExplanation: Error, Sendable {
    /// One line for messages.
    var summary: String { get }
}

/// The HTTP plumbing the HTTP-speaking backends (Consul, Eureka) share: one async-http-client
/// with pooled keep-alive connections to one server, over TCP, TLS or a Unix socket, and every
/// failure mapped to a ``DiscoveryError`` whose message names the backend (`service`).
///
/// Non-2xx answers are thrown: 400 ``DiscoveryError/Code/invalidArgument``, 401/403
/// ``DiscoveryError/Code/permissionDenied``, 404 ``DiscoveryError/Code/notFound``, 429 and 5xx
/// ``DiscoveryError/Code/unavailable``, anything else ``DiscoveryError/Code/invalidResponse``;
/// no answer is ``DiscoveryError/Code/unavailable`` (refused, TLS) or
/// ``DiscoveryError/Code/timedOut``. Header values given at creation (credentials) are sent with
/// every request and never logged.
package final class HTTPTransport: Sendable {
    /// Where the server is.
    package enum Address: Sendable, Equatable, CustomStringConvertible {
        case http(HostPort)
        case https(HostPort)
        /// A Unix domain socket path.
        case unix(String)

        package var description: String {
            switch self {
            case .http(let server): "http://\(server)"
            case .https(let server): "https://\(server)"
            case .unix(let path): "unix://\(path)"
            }
        }
    }

    /// TLS files and checks, with the names (environment variables) that messages use for them.
    package struct TLSFiles: Sendable, Equatable {
        package var caFile: String?
        package var caDirectory: String?
        package var certificateFile: String?
        package var keyFile: String?
        /// The name to send (SNI) and verify the certificate against, when it is not the host.
        package var serverName: String?
        package var verify: Bool
        /// How messages name each file: `CONSUL_CACERT`, `EUREKA_CACERT`, ...
        package var names: (ca: String, caDirectory: String, certificate: String, key: String)
        /// PEM held in memory rather than a file (a kubeconfig's `*-data` fields), used in place
        /// of the file of the same role; messages name them `NAME-data`.
        package var caPEM: [UInt8]?
        package var certificatePEM: [UInt8]?
        package var keyPEM: [UInt8]?

        package init(
            caFile: String?, caDirectory: String?, certificateFile: String?, keyFile: String?,
            serverName: String?,
            verify: Bool, names: (ca: String, caDirectory: String, certificate: String, key: String)
        ) {
            self.caFile = caFile
            self.caDirectory = caDirectory
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.serverName = serverName
            self.verify = verify
            self.names = names
        }

        package static func == (lhs: TLSFiles, rhs: TLSFiles) -> Bool {
            lhs.caFile == rhs.caFile && lhs.caDirectory == rhs.caDirectory
                && lhs.certificateFile == rhs.certificateFile && lhs.keyFile == rhs.keyFile
                && lhs.serverName == rhs.serverName && lhs.verify == rhs.verify && lhs.caPEM == rhs.caPEM
                && lhs.certificatePEM == rhs.certificatePEM && lhs.keyPEM == rhs.keyPEM
        }
    }

    /// An answer with a 2xx status.
    package struct Response: Sendable {
        package var status: HTTPResponseStatus
        package var headers: HTTPHeaders
        /// The body as it was read: decoders read it in place, without a copy.
        package var body: ByteBuffer
    }

    /// `consul`, `eureka`: the first word of every message.
    package let service: String
    /// What messages call the server: `agent` (Consul), `server` (Eureka).
    package let peer: String
    package let address: Address
    package let requestTimeout: Duration
    private let headers: [(String, String)]
    package let logger: Logger
    let http: HTTPClient
    /// How the server explains a refusal, when it says more than its body's first line
    /// (Kubernetes' Status objects): the explanation becomes the error's cause.
    let explainRefusal: (@Sendable (HTTPResponseStatus, ByteBuffer) -> (any RefusalExplanation)?)?
    /// `scheme://authority` of every request.
    private let base: String
    /// The TLS settings of an `https` server, to say which certificate a failed handshake is about.
    let tlsFiles: TLSFiles?

    /// Files named in `tls` are read here, so a bad one fails now rather than at the first
    /// request.
    package init(
        service: String, peer: String = "server", address: Address, tls: TLSFiles,
        headers: [(String, String)] = [],
        connectTimeout: Duration, requestTimeout: Duration, logger: Logger,
        explainRefusal: (@Sendable (HTTPResponseStatus, ByteBuffer) -> (any RefusalExplanation)?)? = nil
    ) throws(DiscoveryError) {
        self.explainRefusal = explainRefusal
        self.service = service
        self.peer = peer
        self.address = address
        self.requestTimeout = requestTimeout
        self.headers = headers
        self.logger = logger
        var settings = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .nanoseconds(connectTimeout.nanoseconds)),
            decompression: .disabled)
        // A refused or failed connect fails the request at once: the instancers and registrars
        // retry with their own backoff and report each failure, where the pool's own retries
        // would hold every request until its deadline (10 s of silence with the server down).
        settings.connectionPool.retryConnectionEstablishment = false
        tlsFiles = if case .https = address { tls } else { nil }
        switch address {
        case .http(let server):
            base = "http://\(server)"
        case .https(let server):
            settings.tlsConfiguration = try Self.tlsConfiguration(tls)
            if let serverName = tls.serverName {
                // Connect to the server, verify its certificate as `serverName`.
                settings.dnsOverride = [serverName: server.host]
                base = "https://\(HostPort(host: serverName, port: server.port))"
            } else {
                base = "https://\(server)"
            }
        case .unix(let path):
            base = "http+unix://\(PercentEncoding.encode(path))"
        }
        http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: settings)
    }

    /// Ends the connections; requests in flight fail. Idempotent. Dropping the last reference
    /// closes it too.
    package func close() {
        http.shutdown { _ in }
    }

    deinit {
        // The HTTP client keeps itself alive until its shutdown completes; one closed already
        // answers `alreadyShutdown`, which is fine.
        http.shutdown { _ in }
    }

    /// Sends one request and returns a 2xx answer; any other status is thrown. `path` is
    /// already percent-encoded; query values are encoded here (`nil`: a bare key). `what` names
    /// the operation in messages.
    package func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], body: [UInt8]? = nil,
        headers extra: [(String, String)] = [], timeout: Duration? = nil, what: String
    ) async throws(DiscoveryError) -> Response {
        let request = self.request(method, path, query: query, body: body, headers: extra)
        let deadline = timeout ?? requestTimeout
        logger.trace("\(service): request", metadata: ["sd.method": "\(method)", "sd.path": "\(path)"])
        let response: Response
        do {
            response = try await exchange(request, deadline: deadline) { answer in
                Response(
                    status: answer.status, headers: answer.headers,
                    body: try await Self.collect(answer, upTo: Self.bodyLimit))
            }
        } catch {
            throw map(transport: error, what: what, deadline: deadline)
        }
        guard (200..<300).contains(response.status.code) else {
            throw map(status: response.status, body: response.body, what: what)
        }
        return response
    }

    /// The request built as ``send(_:_:query:body:headers:timeout:what:)`` builds it.
    func request(
        _ method: HTTPMethod, _ path: String, query: [(String, String?)], body: [UInt8]?,
        headers extra: [(String, String)]
    ) -> HTTPClientRequest {
        var url = base + path
        if !query.isEmpty {
            url +=
                "?"
                + query.map { key, value in
                    value.map { "\(key)=\(PercentEncoding.encode($0))" } ?? key
                }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: "sdctl")
        for (name, value) in headers + extra { request.headers.add(name: name, value: value) }
        if let body {
            if !request.headers.contains(name: "Content-Type") {
                request.headers.add(name: "Content-Type", value: "application/json")
            }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }
}

extension HTTPTransport {
    /// The largest body read; a longer one fails the request as an invalid answer.
    package static let bodyLimit = 64 << 20

    /// The request, and `read` of its answer (the body included), within `deadline`.
    /// async-http-client's own deadline ends when the headers arrive, so a server that sends
    /// them and then stalls (or drips) would hold the body read for ever: the read runs beside
    /// a timer and whichever ends first wins.
    func exchange<Result: Sendable>(
        _ request: HTTPClientRequest, deadline: Duration,
        read: @escaping @Sendable (HTTPClientResponse) async throws -> Result
    ) async throws -> Result {
        let http = self.http
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                let answer = try await http.execute(request, timeout: .nanoseconds(deadline.nanoseconds))
                return try await read(answer)
            }
            group.addTask {
                try await Task.sleep(for: deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let response = try await group.next()! else { throw HTTPClientError.deadlineExceeded }
            return response
        }
    }
}

extension HTTPTransport {
    /// The whole body, at most `limit` bytes. When the server says how long it is, the buffer
    /// is that long from the start: grown by doubling instead, a 60 MB body would pass through
    /// buffers of 32 and 64 MB and hold both while it moves from one to the other.
    static func collect(_ answer: HTTPClientResponse, upTo limit: Int) async throws -> ByteBuffer {
        let announced = answer.headers.first(name: "Content-Length").flatMap { Int($0) }
        if let announced, announced > limit { throw NIOTooManyBytesError(maxBytes: limit) }
        var body = ByteBuffer()
        body.reserveCapacity(announced ?? 0)
        for try await chunk in answer.body {
            guard chunk.readableBytes <= limit - body.readableBytes else {
                throw NIOTooManyBytesError(maxBytes: limit)
            }
            var chunk = chunk
            body.writeBuffer(&chunk)
        }
        return body
    }
}

extension Duration {
    /// The whole nanoseconds, saturating.
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product &+ attoseconds / 1_000_000_000
    }

    /// Milliseconds, at least 1, as a server's duration fields and messages want them.
    package var wholeMilliseconds: Int64 {
        max(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000, 1)
    }
}
