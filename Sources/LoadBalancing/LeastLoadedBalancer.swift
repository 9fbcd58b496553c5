import Discovery

/// The power of two choices over least outstanding requests (Finagle's P2C, Envoy's least
/// request): two endpoints at random, and the one with fewer requests in flight.
///
/// Requests are counted by ``Lease``: take one with ``lease(avoiding:)`` and complete it (or
/// let ``Retry`` do it). ``pick()`` reads the counts but adds nothing to them.
///
/// The counts are kept per pick stripe, as the rest of a stripe's state is: a thread weighs
/// the requests it started itself (each lease reports to the stripe it came from, whichever
/// thread completes it). With requests spread over threads, each stripe sees a share of the
/// same pattern, and picks never contend on a shared counter (docs/balancers.md).
public struct LeastLoadedBalancer<Source: Endpointer>: Balancer {
    public typealias Endpoint = Source.Endpoint

    @usableFromInline let stripes: PickStripes<Source>

    public init(_ source: Source) {
        stripes = PickStripes(source: source, mode: .outstanding)
    }

    /// Random numbers from `seed`, for simulations and tests.
    public init(_ source: Source, seed: UInt64) {
        stripes = PickStripes(source: source, seed: seed, mode: .outstanding)
    }

    @inlinable
    public func pick() throws(DiscoveryError) -> Endpoint {
        try stripes.withCurrentLoads { state, loads, _ in
            state.endpoints[stripes.chooseOfTwo(&state, &loads, avoiding: nil, peak: false).index]
        }
    }

    @inlinable
    public func pick(avoiding address: String?) throws(DiscoveryError) -> (
        address: String, endpoint: Endpoint
    ) {
        try stripes.withCurrentLoads { state, loads, _ in
            let index = stripes.chooseOfTwo(&state, &loads, avoiding: address, peak: false).index
            return (state.addresses[index], state.endpoints[index])
        }
    }

    @inlinable
    public func lease(avoiding address: String?) throws(DiscoveryError) -> Lease<Endpoint> {
        try stripes.leaseOfTwo(avoiding: address, peak: false)
    }
}
