import Discovery
import DiscoveryHTTP
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A client of the parts of a Kubernetes API server that discovery reads: a Service's
/// `discovery.k8s.io/v1` EndpointSlices, listed page by page and watched from a resource
/// version.
///
/// Failures are `DiscoveryError`s whose message quotes the API server's own reason (its
/// Status message): 401/403 `DiscoveryError/Code/permissionDenied` (what was refused: verb,
/// resource, namespace), 404 `DiscoveryError/Code/notFound`, an unreachable server or 5xx
/// `DiscoveryError/Code/unavailable`; the ``KubernetesStatus`` is the cause
/// (`DiscoveryError/kubernetesStatus`), and its code 410 means a resource version too old. Tokens and passwords never
/// appear in a log or a message.
public final class KubernetesClient: Sendable {
    public let configuration: Configuration
    /// The transport of every request but those that carry an exec plugin's client certificate.
    let transport: HTTPTransport
    private let tokenFile: TokenFile?
    private let execCredentials: ExecCredentialSource?
    /// The TLS settings ``transport`` was made with, for a transport with a plugin's certificate.
    private let tlsFiles: HTTPTransport.TLSFiles
    private let headers: [(String, String)]
    private let logger: Logger
    /// The transport whose TLS carries the exec plugin's current client certificate. A new
    /// certificate gets a new transport; requests in flight keep the one they started with.
    private let certificateTransport = Mutex<
        (certificate: ExecCredentialSource.ClientCertificate, transport: HTTPTransport)?
    >(nil)

    /// Files named in the TLS settings are read here.
    public init(_ configuration: Configuration, logger: Logger = DiscoveryLogging.disabled)
        throws(DiscoveryError)
    {
        let logger = logger.forBackend("k8s")
        self.configuration = configuration
        var headers = [("Accept", "application/json")]
        switch configuration.credentials {
        case .none, .tokenFile, .exec:
            break
        case .token(let token):
            headers.append(("Authorization", "Bearer " + token))
        case .basic(let user, let password):
            headers.append(("Authorization", "Basic " + Base64.encode(Array("\(user):\(password)".utf8))))
        }
        if case .tokenFile(let path) = configuration.credentials {
            tokenFile = TokenFile(path: path)
            _ = try tokenFile?.token()  // a missing or empty file fails now
        } else {
            tokenFile = nil
        }
        if case .exec(let plugin) = configuration.credentials {
            execCredentials = ExecCredentialSource(plugin: plugin)
        } else {
            execCredentials = nil
        }
        let tls = configuration.tls
        var files = HTTPTransport.TLSFiles(
            caFile: tls.caFile, caDirectory: nil, certificateFile: tls.certificateFile,
            keyFile: tls.keyFile,
            serverName: tls.serverName, verify: tls.verify,
            names: ("certificate-authority", "certificate-authority", "client-certificate", "client-key"))
        (files.caPEM, files.certificatePEM, files.keyPEM) = (tls.caData, tls.certificateData, tls.keyData)
        tlsFiles = files
        self.headers = headers
        self.logger = logger
        transport = try Self.makeTransport(configuration, files, headers, logger)
    }

    private static func makeTransport(
        _ configuration: Configuration, _ tls: HTTPTransport.TLSFiles, _ headers: [(String, String)],
        _ logger: Logger
    ) throws(DiscoveryError) -> HTTPTransport {
        let address: HTTPTransport.Address =
            switch configuration.server {
            case .http(let server): .http(server)
            case .https(let server): .https(server)
            }
        return try HTTPTransport(
            service: "k8s", peer: "API server", address: address,
            tls: tls,
            headers: headers, connectTimeout: configuration.connectTimeout,
            requestTimeout: configuration.requestTimeout, logger: logger,
            explainRefusal: { _, body in KubernetesStatus.decode(body) })
    }

    /// Ends the connections. Idempotent; dropping the last reference closes it too.
    public func close() {
        transport.close()
        certificateTransport.withLock { $0 }?.transport.close()
    }

    /// Calls `body` with the transport to send on and the headers each request adds (a token
    /// read from its file, or an exec plugin's). The transport is ``transport`` unless an exec
    /// plugin gave a client certificate. When the server answers 401 to an exec plugin's
    /// credential, the plugin runs again and `body` is called once more with the new one, as
    /// client-go does.
    func withCredentials<Result>(
        _ body: (_ transport: HTTPTransport, _ headers: [(String, String)]) async throws(DiscoveryError) ->
            Result
    ) async throws(DiscoveryError) -> Result {
        if let tokenFile {
            return try await body(transport, [("Authorization", "Bearer " + (try tokenFile.token()))])
        }
        guard let execCredentials else { return try await body(transport, []) }
        let credential = try await execCredentials.credential()
        do {
            return try await body(try transport(for: credential), Self.headers(credential))
        } catch  where error.code == .permissionDenied && (error.kubernetesStatus?.code ?? 401) == 401 {
            execCredentials.refused(credential)
            let renewed = try await execCredentials.credential()
            return try await body(try transport(for: renewed), Self.headers(renewed))
        }
    }

    private static func headers(_ credential: ExecCredentialSource.Credential) -> [(String, String)] {
        credential.token.map { [("Authorization", "Bearer " + $0)] } ?? []
    }

    /// ``transport``, or for a credential with a client certificate a transport that presents
    /// it (made on first use, replaced when the plugin gives another certificate).
    private func transport(for credential: ExecCredentialSource.Credential) throws(DiscoveryError)
        -> HTTPTransport
    {
        guard let certificate = credential.certificate else { return transport }
        if let current = certificateTransport.withLock({ $0 }), current.certificate == certificate {
            return current.transport
        }
        let plugin = execCredentials.map { HTTPTransport.oneLine(Array($0.plugin.command.utf8)) } ?? ""
        guard case .https = configuration.server else {
            throw DiscoveryError(
                .invalidArgument,
                "k8s: the exec credential plugin '\(plugin)' gave a client certificate, which needs an https server"
            )
        }
        var files = tlsFiles
        files.certificateFile = nil
        files.keyFile = nil
        (files.certificatePEM, files.keyPEM) = (certificate.certificatePEM, certificate.keyPEM)
        files.names.certificate = "the exec credential plugin's clientCertificate"
        files.names.key = "the exec credential plugin's clientKey"
        let made: HTTPTransport
        do {
            made = try Self.makeTransport(configuration, files, headers, logger)
        } catch {
            throw DiscoveryError(
                .invalidResponse,
                "k8s: the exec credential plugin '\(plugin)' gave a client certificate that cannot be used: \(error.message)",
                cause: error)
        }
        // Requests in flight on a replaced transport hold it until they end (a watch until the
        // server ends its stream); it shuts down when the last of them lets go.
        certificateTransport.withLock { $0 = (certificate, made) }
        return made
    }
}

/// A bearer token in a file, read again at most once a minute (as client-go's cached file
/// token source does), so that a rotated service-account token is picked up.
final class TokenFile: Sendable {
    let path: String
    /// How long a token read is used before the file is read again.
    let refresh: Duration
    private let cached = Mutex<(token: String, read: ContinuousClock.Instant)?>(nil)

    init(path: String, refresh: Duration = .seconds(60)) {
        self.path = path
        self.refresh = refresh
    }

    func token() throws(DiscoveryError) -> String {
        let now = ContinuousClock.now
        if let (token, read) = cached.withLock({ $0 }), now - read < refresh { return token }
        guard let line = try? TextFile.firstLine(of: path) else {
            throw DiscoveryError(.invalidArgument, "k8s: cannot read the token file \(path)")
        }
        let token = line.trimmingWhitespace()
        guard !token.isEmpty else {
            throw DiscoveryError(.invalidArgument, "k8s: the token file \(path) is empty")
        }
        cached.withLock { $0 = (token, now) }
        return token
    }
}
