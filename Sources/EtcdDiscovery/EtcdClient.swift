import Discovery
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A client for etcd v3's native gRPC API, shared by any number of instancers and registrars.
///
/// - Several endpoints: tried in order, moving on from a dead one, as gRPC's pick-first does
///   (`GRPCChannel`).
/// - Optional TLS (CA, client certificate and key).
/// - Username and password: the token from `Auth/Authenticate` travels in the `token` metadata
///   of every call and is renewed when the server says it is no longer valid.
///
/// Each call is its own RPC, and each watch or keepalive its own stream, so instancers and
/// registrars sharing one client never disturb one another: stopping one cancels only its own.
/// The calls go over one HTTP/2 connection with this module's own gRPC client (Internal/GRPC),
/// which does what etcd needs and no more (docs/etcd.md says why it is not grpc-swift).
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
        /// A client-side bound on each unary call (10 s by default, twice etcdctl's command
        /// timeout). It travels as `grpc-timeout`, so the server gives up too. Watches and lease
        /// keepalives are streams without a deadline: keepalive pings close a connection whose
        /// server stopped answering (``keepaliveInterval``).
        public var requestTimeout: Duration
        /// How often a connection with calls in flight is pinged, and how long an answer may
        /// take before the connection is closed and its calls fail. etcd refuses pings more often
        /// than every 5 s (`--grpc-keepalive-min-time`).
        public var keepaliveInterval: Duration = .seconds(10)
        public var keepaliveTimeout: Duration = .seconds(5)
        /// How long one endpoint may take to accept a connection (TCP, then TLS and HTTP/2's
        /// SETTINGS) before the next is tried.
        public var connectTimeout: Duration = .seconds(5)
        /// The most keys one range may answer with (``EtcdClient/range(prefix:)``): asked of
        /// the server as the range's limit, and counted in the answer before it is decoded, so a
        /// server that ignores the limit is refused too. More is an error whose cause is
        /// `InstanceLimitExceeded`.
        public var maximumInstances: Int = Instance.defaultMaximumPerAnswer

        public init(
            endpoints: [HostPort], tls: TLS? = nil, username: String? = nil, password: String? = nil,
            requestTimeout: Duration = .seconds(10)
        ) {
            self.endpoints = endpoints
            self.tls = tls
            self.username = username
            self.password = password
            self.requestTimeout = requestTimeout
        }
    }

    public let configuration: Configuration
    let channel: GRPCChannel
    let logger: Logger
    /// The auth token, once there is one.
    let token = Mutex<String?>(nil)

    public init(
        _ configuration: Configuration,
        logger: Logger = DiscoveryLogging.disabled
    )
        throws(DiscoveryError)
    {
        let logger = logger.forBackend("etcd")
        guard !configuration.endpoints.isEmpty else {
            throw DiscoveryError(.invalidArgument, "etcd: no endpoints")
        }
        self.configuration = configuration
        self.logger = logger
        let connections = GRPCConnection.Configuration(
            tls: try Self.context(configuration.tls),
            connectTimeout: Self.timeAmount(configuration.connectTimeout),
            handler: .init(
                keepaliveInterval: Self.timeAmount(configuration.keepaliveInterval),
                keepaliveTimeout: Self.timeAmount(configuration.keepaliveTimeout),
                prefaceTimeout: Self.timeAmount(configuration.connectTimeout)))
        channel = GRPCChannel(
            endpoints: configuration.endpoints, configuration: connections,
            group: MultiThreadedEventLoopGroup.singleton)
    }

    deinit {
        close()
    }

    /// Ends the connection and every call and stream on it; later calls fail. Idempotent.
    public func close() {
        channel.close()
    }

    /// The TLS context every connection shares; `nil` for plaintext. Each file is loaded here,
    /// so that a missing or wrong one is named before any connection.
    static func context(_ tls: TLS?) throws(DiscoveryError) -> NIOSSLContext? {
        guard let tls else { return nil }
        if tls.certificateFile != nil, tls.keyFile == nil {
            throw DiscoveryError(.invalidArgument, "etcd: a client certificate needs its key (ETCDCTL_KEY)")
        }
        for file in [tls.caFile, tls.certificateFile, tls.keyFile].compactMap({ $0 })
        where !Self.isReadable(file) {
            throw DiscoveryError(.invalidArgument, "etcd: cannot read '\(file)'")
        }
        func certificates(_ file: String) throws(DiscoveryError) -> [NIOSSLCertificate] {
            guard let certificates = try? NIOSSLCertificate.fromPEMFile(file), !certificates.isEmpty else {
                throw DiscoveryError(.invalidArgument, "etcd: '\(file)' holds no PEM certificate")
            }
            return certificates
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.applicationProtocols = ["h2"]
        if let ca = tls.caFile { configuration.trustRoots = .certificates(try certificates(ca)) }
        if let certificate = tls.certificateFile, let key = tls.keyFile {
            configuration.certificateChain = try certificates(certificate).map { .certificate($0) }
            guard let privateKey = try? NIOSSLPrivateKey(file: key, format: .pem) else {
                throw DiscoveryError(.invalidArgument, "etcd: '\(key)' holds no PEM private key")
            }
            configuration.privateKey = .privateKey(privateKey)
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw DiscoveryError(.invalidArgument, "etcd: TLS: \(error)", cause: error)
        }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    static func isReadable(_ path: String) -> Bool {
        #if canImport(Glibc)
            return access(path, R_OK) == 0
        #else
            return true
        #endif
    }
}
