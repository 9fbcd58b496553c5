import Discovery
import DiscoveryHTTP
import Logging
import NIOCore
import NIOHTTP1

/// A client of one Consul agent's HTTP API: the health endpoint's blocking queries and the agent
/// endpoints that register services and pass their checks.
///
/// Requests go over async-http-client's pooled keep-alive connections (DiscoveryHTTP's
/// `HTTPTransport`); a blocking query holds one connection for its wait. The ACL token travels as `X-Consul-Token` and never appears in
/// a log record or an error. Every call fails with a `DiscoveryError`: `DiscoveryError/Code/unavailable`
/// when the agent cannot be reached or answers 429/5xx, `DiscoveryError/Code/permissionDenied`
/// on 403, `DiscoveryError/Code/notFound` on 404, `DiscoveryError/Code/invalidArgument` on 400,
/// `DiscoveryError/Code/timedOut` when its deadline passes and
/// `DiscoveryError/Code/invalidResponse` when the answer cannot be decoded.
public final class ConsulClient: Sendable {
    public let configuration: Configuration
    let transport: HTTPTransport

    /// A client of the agent `configuration` names. Certificate and key files are read here, so
    /// a bad one fails now rather than at the first request.
    public init(_ configuration: Configuration, logger: Logger = DiscoveryLogging.disabled)
        throws(DiscoveryError)
    {
        let logger = logger.forBackend("consul")
        self.configuration = configuration
        let address: HTTPTransport.Address =
            switch configuration.address {
            case .http(let agent): .http(agent)
            case .https(let agent): .https(agent)
            case .unix(let path): .unix(path)
            }
        let tls = configuration.tls
        var headers: [(String, String)] = []
        if let token = configuration.token { headers.append(("X-Consul-Token", token)) }
        if let credentials = configuration.basicAuthentication {
            headers.append(("Authorization", "Basic " + Base64.encode(Array(credentials.utf8))))
        }
        transport = try HTTPTransport(
            service: "consul", peer: "agent", address: address,
            tls: HTTPTransport.TLSFiles(
                caFile: tls.caFile, caDirectory: tls.caDirectory, certificateFile: tls.certificateFile,
                keyFile: tls.keyFile, serverName: tls.serverName, verify: tls.verify,
                names: ("CONSUL_CACERT", "CONSUL_CAPATH", "CONSUL_CLIENT_CERT", "CONSUL_CLIENT_KEY")),
            headers: headers, connectTimeout: configuration.connectTimeout,
            requestTimeout: configuration.requestTimeout, logger: logger)
    }

    /// Ends the connections; requests in flight fail. Idempotent. Dropping the last reference
    /// closes the client too.
    public func close() {
        transport.close()
    }

    /// Sends one request to the agent and returns a 2xx answer; any other status is thrown, mapped
    /// as the type's documentation says. `what` names the operation in messages.
    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], body: [UInt8]? = nil,
        timeout: Duration? = nil, what: String
    ) async throws(DiscoveryError) -> HTTPTransport.Response {
        try await transport.send(method, path, query: query, body: body, timeout: timeout, what: what)
    }

    func decode<Value: Decodable>(_ type: Value.Type, _ body: ByteBuffer, what: String) throws(DiscoveryError)
        -> Value
    {
        try transport.decode(type, body, what: what)
    }
}
