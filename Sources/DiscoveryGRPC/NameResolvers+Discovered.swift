#if GRPC
    public import GRPCCore
    public import GRPCNIOTransportCore

    extension NameResolvers {
        /// A name resolver factory for ``GRPCNIOTransportCore/ResolvableTargets/Discovered``
        /// targets: it follows the target's instancer and pushes every set to the channel.
        ///
        /// - Every instance becomes one endpoint; an address whose host is not an IP literal is
        ///   looked up (`getaddrinfo`) when its set arrives, and left out, logged, when that fails.
        /// - A failure event is not passed on: the channel keeps the last good set, as the
        ///   instancer does. An empty set the backend confirms is passed on.
        /// - Each result carries ``serviceConfig`` (round robin unless told), so calls spread
        ///   over the endpoints with gRPC's own load balancer.
        /// - When the instancer stops, the resolution ends and the channel keeps what it has.
        public struct Discovered: NameResolverFactory, Sendable {
            public typealias Target = ResolvableTargets.Discovered

            /// The service config each resolution result carries; nil: the transport's default
            /// (pick first).
            public var serviceConfig: ServiceConfig?

            public init(serviceConfig: ServiceConfig? = ServiceConfig(loadBalancingConfig: [.roundRobin])) {
                self.serviceConfig = serviceConfig
            }

            public func resolver(for target: Target) -> NameResolver {
                NameResolver(
                    names: RPCAsyncSequence(
                        wrapping: DiscoveredNames(instancer: target.instancer, serviceConfig: serviceConfig)),
                    updateMode: .push, authority: target.authority)
            }
        }
    }
#endif
