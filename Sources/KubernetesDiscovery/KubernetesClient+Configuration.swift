import Discovery

extension KubernetesClient {
    /// Where the API server is and how to authenticate to it.
    public struct Configuration: Sendable, Equatable {
        /// How the API server is reached.
        public enum Server: Sendable, Equatable, CustomStringConvertible {
            case http(HostPort)
            case https(HostPort)

            public var description: String {
                switch self {
                case .http(let server): "http://\(server)"
                case .https(let server): "https://\(server)"
                }
            }
        }

        /// TLS settings for an `https` server.
        public struct TLS: Sendable, Equatable {
            /// A PEM file of CA certificates to trust instead of the system's.
            public var caFile: String?
            /// A client certificate chain and its key, PEM.
            public var certificateFile: String?
            public var keyFile: String?
            /// The name to verify the server's certificate against, when it is not the host.
            public var serverName: String?
            /// `false` accepts any certificate (a kubeconfig's `insecure-skip-tls-verify`).
            public var verify: Bool
            /// PEM held in memory (a kubeconfig's `certificate-authority-data`,
            /// `client-certificate-data`, `client-key-data`), used in place of the matching file.
            public var caData: [UInt8]?
            public var certificateData: [UInt8]?
            public var keyData: [UInt8]?

            public init(
                caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
                serverName: String? = nil, verify: Bool = true
            ) {
                self.caFile = caFile
                self.certificateFile = certificateFile
                self.keyFile = keyFile
                self.serverName = serverName
                self.verify = verify
            }
        }

        /// How requests authenticate. Secrets are never logged or put in messages.
        public enum Credentials: Sendable, Equatable {
            case none
            /// A bearer token.
            case token(String)
            /// A bearer token read from a file, and read again when it may have rotated (a
            /// service account's projected token is replaced before it expires).
            case tokenFile(String)
            /// HTTP basic authentication.
            case basic(user: String, password: String)
            /// A bearer token, a client certificate, or both, from a kubeconfig's `exec`
            /// credential plugin, run again when what it gave expires or is refused. A client
            /// certificate it gives is presented in place of ``TLS/certificateFile``.
            case exec(ExecCredentialPlugin)
        }

        public var server: Server
        public var tls: TLS
        public var credentials: Credentials
        /// How long connecting, and waiting for an answer's head, may take.
        public var connectTimeout: Duration
        /// How long a request that is not a watch may take, its body included.
        public var requestTimeout: Duration
        /// How many EndpointSlices one list page asks for.
        public var pageSize: Int

        public init(
            server: Server, tls: TLS = TLS(), credentials: Credentials = .none,
            connectTimeout: Duration = .seconds(5), requestTimeout: Duration = .seconds(30),
            pageSize: Int = 500
        ) {
            self.server = server
            self.tls = tls
            self.credentials = credentials
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.pageSize = max(pageSize, 1)
        }
    }
}
