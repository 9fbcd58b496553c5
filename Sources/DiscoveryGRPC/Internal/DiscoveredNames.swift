#if GRPC
    import Discovery
    import GRPCCore
    import GRPCNIOTransportCore

    /// The resolution results of one instancer: one per set it publishes.
    struct DiscoveredNames: AsyncSequence, Sendable {
        typealias Element = NameResolutionResult
        typealias Failure = any Error

        let instancer: any Instancer
        let serviceConfig: ServiceConfig?

        func makeAsyncIterator() -> Iterator {
            Iterator(subscription: instancer.subscribe().makeAsyncIterator(), serviceConfig: serviceConfig)
        }

        struct Iterator: AsyncIteratorProtocol {
            var subscription: InstanceSubscription.AsyncIterator
            let serviceConfig: ServiceConfig?

            mutating func next() async throws -> NameResolutionResult? {
                while let event = await subscription.next() {
                    // Failures keep the last good set, in the channel as in the instancer.
                    guard let set = event.instances else { continue }
                    return NameResolutionResult(
                        endpoints: await EndpointAddresses.endpoints(for: set),
                        serviceConfig: serviceConfig.map { .success($0) })
                }
                return nil
            }
        }
    }
#endif
