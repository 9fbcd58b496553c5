import Discovery

/// Finagle's peak-EWMA with the power of two choices: two endpoints at random, and the one
/// whose cost is lower, where cost = a peak-sensitive moving average of its latency × (its
/// outstanding requests + 1).
///
/// - A latency above the average replaces it at once (a peak is believed immediately); one
///   below pulls it down by how much time has passed, with time constant `decay` (Finagle's
///   default 10 s), and the average decays toward zero while an endpoint is not heard from,
///   so a once-slow endpoint is tried again.
/// - An endpoint not yet measured starts at `unmeasuredLatency`, a penalty rather than zero,
///   so that a new instance is not flooded before anything is known about it; the penalty
///   decays like any estimate.
///
/// Latencies come from ``Lease/complete(_:latency:)``: pass the latency you measured, or
/// none and the balancer uses its ``BalancerClock`` (about a millisecond of resolution).
/// ``Retry`` measures it. Estimates and counts are kept per pick stripe, as for
/// ``LeastLoadedBalancer``.
public struct PeakEWMABalancer<Source: Endpointer>: Balancer {
    public typealias Endpoint = Source.Endpoint

    @usableFromInline let stripes: PickStripes<Source>

    /// - Parameters:
    ///   - source: the endpointer to pick from.
    ///   - decay: the moving average's time constant.
    ///   - unmeasuredLatency: the estimate an endpoint starts with.
    ///   - seed: fixes the random numbers, for simulations and tests.
    ///   - clock: the time source (``BalancerClock/manual(start:)`` for simulations).
    public init(
        _ source: Source, decay: Duration = .seconds(10), unmeasuredLatency: Duration = .milliseconds(50),
        seed: UInt64? = nil, clock: BalancerClock = .shared
    ) {
        precondition(decay > .zero, "decay must be positive")
        stripes = PickStripes(
            source: source, seed: seed, mode: .peakEWMA, tau: decay, penalty: unmeasuredLatency, clock: clock)
    }

    @inlinable
    public func pick() throws(DiscoveryError) -> Endpoint {
        try stripes.withCurrentLoads { state, loads, _ in
            state.endpoints[stripes.chooseOfTwo(&state, &loads, avoiding: nil, peak: true).index]
        }
    }

    @inlinable
    public func pick(avoiding address: String?) throws(DiscoveryError) -> (
        address: String, endpoint: Endpoint
    ) {
        try stripes.withCurrentLoads { state, loads, _ in
            let index = stripes.chooseOfTwo(&state, &loads, avoiding: address, peak: true).index
            return (state.addresses[index], state.endpoints[index])
        }
    }

    @inlinable
    public func lease(avoiding address: String?) throws(DiscoveryError) -> Lease<Endpoint> {
        try stripes.leaseOfTwo(avoiding: address, peak: true)
    }
}
