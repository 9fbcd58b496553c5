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
/// Failures are ``DiscoveryError``s whose message quotes the API server's own reason (its
/// Status message): 401/403 ``DiscoveryError/Code/permissionDenied`` (what was refused: verb,
/// resource, namespace), 404 ``DiscoveryError/Code/notFound``, an unreachable server or 5xx
/// ``DiscoveryError/Code/unavailable``; the ``KubernetesStatus`` is the cause
/// (``DiscoveryError/kubernetesStatus``), and its code 410 means a resource version too old. Tokens and passwords never
/// appear in a log or a message.
public final class KubernetesClient: Sendable {
    public let configuration: Configuration
    let transport: HTTPTransport
    private let tokenFile: TokenFile?
    private let execCredentials: ExecCredentialSource?

    /// Files named in the TLS settings are read here.
    public init(_ configuration: Configuration, logger: Logger = DiscoveryLogging.disabled)
        throws(DiscoveryError)
    {
        let logger = logger.forBackend("k8s")
        self.configuration = configuration
        let address: HTTPTransport.Address =
            switch configuration.server {
            case .http(let server): .http(server)
            case .https(let server): .https(server)
            }
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
        transport = try HTTPTransport(
            service: "k8s", peer: "API server", address: address,
            tls: files,
            headers: headers, connectTimeout: configuration.connectTimeout,
            requestTimeout: configuration.requestTimeout, logger: logger,
            explainRefusal: { _, body in KubernetesStatus.decode(body) })
    }

    /// Ends the connections. Idempotent; dropping the last reference closes it too.
    public func close() {
        transport.close()
    }

    /// Calls `body` with the headers each request adds (a token read from its file, or an exec
    /// plugin's); when the server answers 401 to an exec plugin's token, the plugin runs again
    /// and `body` is called once more with its new token, as client-go does.
    func withCredentials<Result>(
        _ body: (_ headers: [(String, String)]) async throws(DiscoveryError) -> Result
    ) async throws(DiscoveryError) -> Result {
        if let tokenFile {
            return try await body([("Authorization", "Bearer " + (try tokenFile.token()))])
        }
        guard let execCredentials else { return try await body([]) }
        let token = try await execCredentials.token()
        do {
            return try await body([("Authorization", "Bearer " + token)])
        } catch  where error.code == .permissionDenied && (error.kubernetesStatus?.code ?? 401) == 401 {
            execCredentials.refused(token)
            let renewed = try await execCredentials.token()
            return try await body([("Authorization", "Bearer " + renewed)])
        }
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
