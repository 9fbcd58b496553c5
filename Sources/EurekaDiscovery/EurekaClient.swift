import Discovery
import DiscoveryHTTP
import Logging
import NIOHTTP1

/// A client of one Eureka server's REST API (Netflix's `/eureka/v2` or Spring Cloud's `/eureka`):
/// reads an application's instances and registers, renews, overrides and cancels one.
///
/// JSON both ways (`Accept: application/json`). Failures are `DiscoveryError`s: 401/403
/// `DiscoveryError/Code/permissionDenied`, 404 `DiscoveryError/Code/notFound`, an
/// unreachable server or 5xx `DiscoveryError/Code/unavailable`, an undecodable answer
/// `DiscoveryError/Code/invalidResponse`. The password never appears in a log or a message.
public final class EurekaClient: Sendable {
    public let configuration: Configuration
    let transport: HTTPTransport

    /// Files named in the TLS settings are read here.
    public init(_ configuration: Configuration, logger: Logger = DiscoveryLogging.disabled)
        throws(DiscoveryError)
    {
        let logger = logger.forBackend("eureka")
        self.configuration = configuration
        let address: HTTPTransport.Address =
            switch configuration.server {
            case .http(let server): .http(server)
            case .https(let server): .https(server)
            }
        var headers = [("Accept", "application/json")]
        if let user = configuration.username {
            let credentials = user + ":" + (configuration.password ?? "")
            headers.append(("Authorization", "Basic " + Base64.encode(Array(credentials.utf8))))
        }
        let tls = configuration.tls
        transport = try HTTPTransport(
            service: "eureka", address: address,
            tls: HTTPTransport.TLSFiles(
                caFile: tls.caFile, caDirectory: nil, certificateFile: tls.certificateFile,
                keyFile: tls.keyFile,
                serverName: nil, verify: true,
                names: ("EUREKA_CACERT", "EUREKA_CACERT", "EUREKA_CLIENT_CERT", "EUREKA_CLIENT_KEY")),
            headers: headers, connectTimeout: configuration.connectTimeout,
            requestTimeout: configuration.requestTimeout, logger: logger)
    }

    /// Ends the connections. Idempotent; dropping the last reference closes it too.
    public func close() {
        transport.close()
    }

    /// `<base>/apps/<APP>[/<id>[/status]]`, each segment percent-encoded.
    func path(_ app: String, _ rest: String...) -> String {
        ([configuration.basePath, "apps", PercentEncoding.encode(app.uppercased())]
            + rest.map(PercentEncoding.encode)).joined(separator: "/")
    }

    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], body: [UInt8]? = nil,
        what: String
    ) async throws(DiscoveryError) -> HTTPTransport.Response {
        try await transport.send(method, path, query: query, body: body, what: what)
    }
}
