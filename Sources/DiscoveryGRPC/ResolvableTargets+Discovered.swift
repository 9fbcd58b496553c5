#if GRPC
    public import Discovery
    public import GRPCNIOTransportCore

    extension ResolvableTargets {
        /// A target whose addresses an `Discovery/Instancer` discovers: any backend's, for
        /// `HTTP2ClientTransport.Posix(target: .discovered(instancer), ...)` with
        /// ``NameResolvers/Discovered`` in the transport's resolver registry.
        public struct Discovered: ResolvableTarget, Sendable {
            /// The instancer whose sets become the channel's endpoints.
            public var instancer: any Instancer
            /// The `:authority` the channel's calls carry; nil: the transport's default.
            public var authority: String?

            public init(_ instancer: any Instancer, authority: String? = nil) {
                self.instancer = instancer
                self.authority = authority
            }
        }
    }

    extension ResolvableTarget where Self == ResolvableTargets.Discovered {
        /// The endpoints `instancer` discovers.
        public static func discovered(_ instancer: any Instancer, authority: String? = nil) -> Self {
            Self(instancer, authority: authority)
        }
    }
#endif
