import AsyncHTTPClient
import Discovery
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A client of one Consul agent's HTTP API: the health endpoint's blocking queries and the agent
/// endpoints that register services and pass their checks.
///
/// Requests go over async-http-client's pooled keep-alive connections; a blocking query holds
/// one connection for its wait. The ACL token travels as `X-Consul-Token` and never appears in
/// a log record or an error. Every call fails with a ``DiscoveryError``: ``DiscoveryError/Code/unavailable``
/// when the agent cannot be reached or answers 429/5xx, ``DiscoveryError/Code/permissionDenied``
/// on 403, ``DiscoveryError/Code/notFound`` on 404, ``DiscoveryError/Code/invalidArgument`` on 400,
/// ``DiscoveryError/Code/timedOut`` when its deadline passes and
/// ``DiscoveryError/Code/invalidResponse`` when the answer cannot be decoded.
public final class ConsulClient: Sendable {
    public let configuration: Configuration
    let logger: Logger
    private let http: HTTPClient
    /// `scheme://authority` of every request.
    private let base: String

    /// A client of the agent `configuration` names. Certificate and key files are read here, so
    /// a bad one fails now rather than at the first request.
    public init(_ configuration: Configuration, logger: Logger = ConsulClient.noOpLogger)
        throws(DiscoveryError)
    {
        self.configuration = configuration
        self.logger = logger
        var settings = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .nanoseconds(configuration.connectTimeout.nanoseconds)),
            decompression: .disabled)
        // A refused or failed connect fails the request at once: the instancer and registrar
        // retry with their own backoff and report each failure, where the pool's own retries
        // would hold every request until its deadline (10 s of silence with the agent down).
        settings.connectionPool.retryConnectionEstablishment = false
        switch configuration.address {
        case .http(let agent):
            base = "http://\(agent)"
        case .https(let agent):
            settings.tlsConfiguration = try Self.tlsConfiguration(configuration.tls)
            if let serverName = configuration.tls.serverName {
                // Connect to the agent, verify its certificate as `serverName`.
                settings.dnsOverride = [serverName: agent.host]
                base = "https://\(HostPort(host: serverName, port: agent.port))"
            } else {
                base = "https://\(agent)"
            }
        case .unix(let path):
            base = "http+unix://\(PercentEncoding.encode(path))"
        }
        http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: settings)
    }

    /// Ends the connections; requests in flight fail. Idempotent. Dropping the last reference
    /// closes the client too.
    public func close() {
        http.shutdown { _ in }
    }

    deinit {
        // The HTTP client keeps itself alive until its shutdown completes; one closed already
        // answers `alreadyShutdown`, which is fine.
        http.shutdown { _ in }
    }

    public static let noOpLogger = Logger(label: "sdctl.consul", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The agent's answer to one request.
    struct Response: Sendable {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    /// Sends one request and returns a 2xx answer; any other status is thrown, mapped as the
    /// type's documentation says. `what` names the operation in messages.
    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], body: [UInt8]? = nil,
        timeout: Duration? = nil, what: String
    ) async throws(DiscoveryError) -> Response {
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
        if let token = configuration.token { request.headers.add(name: "X-Consul-Token", value: token) }
        if let credentials = configuration.basicAuthentication {
            request.headers.add(
                name: "Authorization", value: "Basic " + Base64.encode(Array(credentials.utf8)))
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let deadline = timeout ?? configuration.requestTimeout
        logger.trace("consul: request", metadata: ["method": "\(method)", "path": "\(path)"])
        let response: Response
        do {
            let answer = try await http.execute(request, timeout: .nanoseconds(deadline.nanoseconds))
            let bytes = try await answer.body.collect(upTo: 64 << 20)
            response = Response(status: answer.status, headers: answer.headers, body: Array(buffer: bytes))
        } catch {
            throw Self.map(transport: error, what: what, agent: configuration.address, deadline: deadline)
        }
        guard (200..<300).contains(response.status.code) else {
            throw Self.map(status: response.status, body: response.body, what: what)
        }
        return response
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product &+ attoseconds / 1_000_000_000
    }
}
