import Discovery
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOHTTP2
import NIOSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A client for etcd v3's native gRPC API, shared by any number of instancers and registrars.
///
/// - Several endpoints: gRPC's pick-first tries them in order and moves on from a dead one
///   (``EtcdEndpoints``).
/// - Optional TLS (CA, client certificate and key).
/// - Username and password: the token from `Auth/Authenticate` travels in the `token` metadata
///   of every call and is renewed when the server says it is no longer valid.
///
/// Each call is its own RPC, and each watch or keepalive its own stream, so instancers and
/// registrars sharing one client never disturb one another: stopping one cancels only its own.
public final class EtcdClient: Sendable {
    public struct TLS: Sendable, Hashable {
        /// PEM file of the CA that signed the servers' certificates; `nil`: the system's roots.
        public var caFile: String?
        /// PEM client certificate and key, for servers that require them.
        public var certificateFile: String?
        public var keyFile: String?

        public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    public struct Configuration: Sendable {
        public var endpoints: [HostPort]
        public var tls: TLS?
        public var username: String?
        public var password: String?
        /// A client-side bound on each unary call; `nil` (the default): none.
        ///
        /// Without it, calls are still bounded: etcd ends a proposal or read it cannot serve
        /// after its own request timeout (about 5 s plus two election timeouts), and keepalive
        /// pings close a connection whose server stopped answering (``keepaliveInterval``). A bound here
        /// costs about 0.2 ms a call, as grpc-swift runs each bounded call in a task group with
        /// a sleeping timer task (measured; docs/etcd.md).
        public var requestTimeout: Duration?
        /// How often a connection with calls in flight is pinged, and how long an answer may
        /// take before the connection is closed and its calls fail. etcd refuses pings more often
        /// than every 5 s (`--grpc-keepalive-min-time`).
        public var keepaliveInterval: Duration = .seconds(10)
        public var keepaliveTimeout: Duration = .seconds(5)

        public init(
            endpoints: [HostPort], tls: TLS? = nil, username: String? = nil, password: String? = nil,
            requestTimeout: Duration? = nil
        ) {
            self.endpoints = endpoints
            self.tls = tls
            self.username = username
            self.password = password
            self.requestTimeout = requestTimeout
        }
    }

    public let configuration: Configuration
    let grpc: GRPCClient<HTTP2ClientTransport.Posix>
    let logger: Logger
    private let token = Mutex<String?>(nil)
    private let connections: Mutex<Task<Void, Never>?> = Mutex(nil)

    public init(
        _ configuration: Configuration,
        logger: Logger = Logger(label: "sdctl.etcd", factory: { _ in SwiftLogNoOpLogHandler() })
    )
        throws(DiscoveryError)
    {
        guard !configuration.endpoints.isEmpty else {
            throw DiscoveryError(.invalidArgument, "etcd: no endpoints")
        }
        self.configuration = configuration
        self.logger = logger
        let transport: HTTP2ClientTransport.Posix
        do {
            var resolvers = NameResolverRegistry.defaults
            resolvers.registerFactory(EtcdEndpointsResolverFactory())
            var transportConfiguration = HTTP2ClientTransport.Posix.Config.defaults
            transportConfiguration.connection.keepalive = .init(
                time: configuration.keepaliveInterval, timeout: configuration.keepaliveTimeout,
                allowWithoutCalls: false)
            // The only hook into a new connection's pipeline; see ServerPingResponder for why.
            transportConfiguration.channelDebuggingCallbacks.onCreateTCPConnection = { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    let http2 = try pipeline.handler(type: NIOHTTP2Handler.self)
                    try pipeline.addHandler(ServerPingResponder(), position: .before(http2))
                }
            }
            transport = try HTTP2ClientTransport.Posix(
                target: EtcdEndpoints(endpoints: configuration.endpoints),
                transportSecurity: try Self.security(configuration.tls), config: transportConfiguration,
                resolverRegistry: resolvers)
        } catch let error as DiscoveryError {
            throw error
        } catch {
            throw DiscoveryError(.invalidArgument, "etcd: \(error)")
        }
        grpc = GRPCClient(transport: transport)
        let grpc = self.grpc
        let logger = self.logger
        connections.withLock {
            $0 = Task {
                do {
                    try await grpc.runConnections()
                } catch {
                    logger.debug("etcd: connections ended", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    deinit {
        close()
    }

    /// Ends every connection, call and stream. Idempotent.
    public func close() {
        grpc.beginGracefulShutdown()
        connections.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    static func security(_ tls: TLS?) throws(DiscoveryError) -> HTTP2ClientTransport.Posix.TransportSecurity {
        guard let tls else { return .plaintext }
        if tls.certificateFile != nil, tls.keyFile == nil {
            throw DiscoveryError(.invalidArgument, "etcd: a client certificate needs its key (ETCDCTL_KEY)")
        }
        for file in [tls.caFile, tls.certificateFile, tls.keyFile].compactMap({ $0 })
        where !Self.isReadable(file) {
            throw DiscoveryError(.invalidArgument, "etcd: cannot read '\(file)'")
        }
        // Loaded here once so that a wrong file is named; the transport reads them again itself.
        for file in [tls.caFile, tls.certificateFile].compactMap({ $0 }) {
            guard (try? NIOSSLCertificate.fromPEMFile(file))?.isEmpty == false else {
                throw DiscoveryError(.invalidArgument, "etcd: '\(file)' holds no PEM certificate")
            }
        }
        if let key = tls.keyFile, (try? NIOSSLPrivateKey(file: key, format: .pem)) == nil {
            throw DiscoveryError(.invalidArgument, "etcd: '\(key)' holds no PEM private key")
        }
        return .tls { config in
            if let ca = tls.caFile { config.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
            if let certificate = tls.certificateFile, let key = tls.keyFile {
                config.certificateChain = [.file(path: certificate, format: .pem)]
                config.privateKey = .file(path: key, format: .pem)
            }
        }
    }

    static func isReadable(_ path: String) -> Bool {
        #if canImport(Glibc)
            return access(path, R_OK) == 0
        #else
            return true
        #endif
    }

    // MARK: - Calls

    /// Options for unary calls: bounded, and failing fast on an endpoint that refuses.
    var unaryOptions: CallOptions {
        var options = CallOptions.defaults
        options.timeout = configuration.requestTimeout
        return options
    }

    /// The metadata every call carries: the auth token, once there is one.
    func metadata() async throws(DiscoveryError) -> Metadata {
        guard configuration.username != nil else { return [:] }
        if let token = token.withLock({ $0 }) { return ["token": "\(token)"] }
        return ["token": "\(try await authenticate())"]
    }

    /// Gets a fresh token with the configured credentials.
    @discardableResult
    func authenticate() async throws(DiscoveryError) -> String {
        guard let username = configuration.username else { return "" }
        var request = Etcdserverpb_AuthenticateRequest()
        request.name = username
        request.password = configuration.password ?? ""
        do {
            let response = try await Etcdserverpb_Auth.Client(wrapping: grpc).authenticate(
                request, options: unaryOptions)
            token.withLock { $0 = response.token }
            return response.token
        } catch let error as RPCError where error.code == .invalidArgument {
            // etcd answers a wrong user or password with InvalidArgument (ErrGRPCAuthFailed).
            throw DiscoveryError(.permissionDenied, "etcd: authenticate: \(Self.describe(error))")
        } catch {
            throw Self.map(error, "authenticate")
        }
    }

    /// Runs a call with the token, renewing the token once if the server rejects it.
    func call<Result: Sendable>(
        _ what: String, _ body: (Metadata) async throws -> Result
    ) async throws(DiscoveryError) -> Result {
        for attempt in 0..<2 {
            let metadata = try await metadata()
            do {
                return try await body(metadata)
            } catch let error as RPCError where attempt == 0 && Self.isStaleToken(error) {
                logger.debug(
                    "etcd: token refused; authenticating again",
                    metadata: ["call": "\(what)", "error": "\(error.message)"])
                token.withLock { $0 = nil }
                continue
            } catch {
                throw Self.map(error, what)
            }
        }
        throw DiscoveryError(.permissionDenied, "etcd: \(what): authentication failed")
    }

    static func isStaleToken(_ error: RPCError) -> Bool {
        error.code == .unauthenticated && error.message.contains("token")
    }
}
