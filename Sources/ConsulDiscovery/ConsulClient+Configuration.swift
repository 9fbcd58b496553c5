import Discovery

extension ConsulClient {
    /// Where the agent is and how to talk to it: what the `consul` CLI reads from CONSUL_HTTP_ADDR
    /// and its companions (``init(environment:)``).
    public struct Configuration: Sendable, Equatable {
        /// How the agent is reached.
        public enum Address: Sendable, Equatable, CustomStringConvertible {
            case http(HostPort)
            case https(HostPort)
            /// A Unix domain socket path (`unix:///var/run/consul.sock`).
            case unix(String)

            public var description: String {
                switch self {
                case .http(let agent): "http://\(agent)"
                case .https(let agent): "https://\(agent)"
                case .unix(let path): "unix://\(path)"
                }
            }
        }

        /// TLS settings for `https` agents.
        public struct TLS: Sendable, Equatable {
            /// A PEM file of CA certificates to trust instead of the system's (CONSUL_CACERT).
            public var caFile: String?
            /// A directory of PEM CA certificates to trust (CONSUL_CAPATH).
            public var caDirectory: String?
            /// A client certificate chain and its key, PEM (CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY).
            public var certificateFile: String?
            public var keyFile: String?
            /// The name to verify the agent's certificate against, when it is not the host
            /// connected to (CONSUL_TLS_SERVER_NAME).
            public var serverName: String?
            /// `false` accepts any certificate (CONSUL_HTTP_SSL_VERIFY=false).
            public var verify: Bool

            public init(
                caFile: String? = nil, caDirectory: String? = nil, certificateFile: String? = nil,
                keyFile: String? = nil, serverName: String? = nil, verify: Bool = true
            ) {
                self.caFile = caFile
                self.caDirectory = caDirectory
                self.certificateFile = certificateFile
                self.keyFile = keyFile
                self.serverName = serverName
                self.verify = verify
            }
        }

        public var address: Address
        /// Sent as `X-Consul-Token`; never logged.
        public var token: String?
        /// `user:password` for HTTP basic authentication (CONSUL_HTTP_AUTH); never logged.
        public var basicAuthentication: String?
        /// Used when ``address`` is `https`.
        public var tls: TLS
        /// How long connecting may take.
        public var connectTimeout: Duration
        /// How long a request that is not a blocking query may take.
        public var requestTimeout: Duration
        /// The most instances one health answer may list; more is an error whose cause is
        /// `InstanceLimitExceeded`, found before the answer is decoded.
        public var maximumInstances: Int

        public init(
            address: Address = .http(HostPort(host: "127.0.0.1", port: 8500)), token: String? = nil,
            basicAuthentication: String? = nil, tls: TLS = TLS(), connectTimeout: Duration = .seconds(5),
            requestTimeout: Duration = .seconds(10), maximumInstances: Int = Instance.defaultMaximumPerAnswer
        ) {
            self.maximumInstances = maximumInstances
            self.address = address
            self.token = token
            self.basicAuthentication = basicAuthentication
            self.tls = tls
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
        }
    }
}
