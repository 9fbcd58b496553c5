/// A kubeconfig user's `exec` credential plugin (`client.authentication.k8s.io/v1` or
/// `v1beta1`): a command that prints an `ExecCredential` whose status holds a bearer token (as
/// `aws eks get-token`, `gke-gcloud-auth-plugin` and `kubelogin` do), a PEM client certificate
/// and key, or both.
///
/// The client runs it before its first request, keeps the credential until its
/// `expirationTimestamp` (for ever without one), and runs it again when that has passed or
/// when the API server answers 401 to a request that carried it. A new client certificate is
/// presented on new connections; a watch already open keeps its connection until the server
/// ends it. It runs without a
/// terminal (stdin is `/dev/null`, `spec.interactive` is false), with ``timeout`` as its
/// deadline; its stdout and stderr are read to a bound. The token and key are never in a message
/// or a log.
public struct ExecCredentialPlugin: Sendable, Equatable {
    public static let v1 = "client.authentication.k8s.io/v1"
    public static let v1beta1 = "client.authentication.k8s.io/v1beta1"

    /// The command (looked up on PATH unless it holds a `/`), and its arguments.
    public var command: String
    public var arguments: [String]
    /// Added to sdctl's own environment, in order.
    public var environment: [EnvironmentVariable]
    /// ``v1`` or ``v1beta1``: the version of the `ExecCredential` it reads and writes.
    public var apiVersion: String
    /// What the kubeconfig says to do when the command is not installed.
    public var installHint: String?
    /// The cluster's server and CA, passed in `KUBERNETES_EXEC_INFO`'s `spec.cluster` when the
    /// kubeconfig's `provideClusterInfo` asks for them.
    public var clusterInfo: ClusterInfo?
    /// How long one run may take.
    public var timeout: Duration

    /// One `env` entry of the kubeconfig's `exec` section.
    public struct EnvironmentVariable: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct ClusterInfo: Sendable, Equatable {
        public var server: String
        public var certificateAuthorityData: [UInt8]?
        public var insecureSkipTLSVerify: Bool
        public var tlsServerName: String?

        public init(
            server: String, certificateAuthorityData: [UInt8]? = nil, insecureSkipTLSVerify: Bool = false,
            tlsServerName: String? = nil
        ) {
            self.server = server
            self.certificateAuthorityData = certificateAuthorityData
            self.insecureSkipTLSVerify = insecureSkipTLSVerify
            self.tlsServerName = tlsServerName
        }
    }

    public init(
        command: String, arguments: [String] = [], environment: [EnvironmentVariable] = [],
        apiVersion: String = ExecCredentialPlugin.v1, installHint: String? = nil,
        clusterInfo: ClusterInfo? = nil,
        timeout: Duration = .seconds(60)
    ) {
        self.command = command
        self.arguments = arguments
        self.environment = environment
        self.apiVersion = apiVersion
        self.installHint = installHint
        self.clusterInfo = clusterInfo
        self.timeout = timeout
    }
}
