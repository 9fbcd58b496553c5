import Discovery

extension EurekaClient {
    /// Which server, under which base path, with which credentials.
    public struct Configuration: Sendable, Equatable {
        public enum Server: Sendable, Equatable {
            case http(HostPort)
            case https(HostPort)
        }

        public struct TLS: Sendable, Equatable {
            /// PEM CA certificates to trust instead of the system's.
            public var caFile: String?
            /// A client certificate chain and its key, PEM.
            public var certificateFile: String?
            public var keyFile: String?

            public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
                self.caFile = caFile
                self.certificateFile = certificateFile
                self.keyFile = keyFile
            }
        }

        public var server: Server
        /// `/eureka` (Spring Cloud) or `/eureka/v2` (Netflix): what comes before `/apps`.
        public var basePath: String
        /// HTTP basic authentication; never logged.
        public var username: String?
        public var password: String?
        public var tls: TLS
        public var connectTimeout: Duration
        public var requestTimeout: Duration
        /// The most instances one answer for an app may list; more is an error whose cause is
        /// `InstanceLimitExceeded`, found before the answer is decoded.
        public var maximumInstances: Int

        public init(
            server: Server, basePath: String = "/eureka", username: String? = nil, password: String? = nil,
            tls: TLS = TLS(), connectTimeout: Duration = .seconds(5), requestTimeout: Duration = .seconds(10),
            maximumInstances: Int = Instance.defaultMaximumPerAnswer
        ) {
            self.maximumInstances = maximumInstances
            self.server = server
            self.basePath = basePath
            self.username = username
            self.password = password
            self.tls = tls
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
        }
    }
}
