import Discovery

/// Any balancer over an ``OutlierEjection``, with the outcome of every lease it hands out
/// reported to the ejection.
///
/// ```swift
/// let balancer = OutlierEjectingBalancer(endpointer) { LeastLoadedBalancer($0) }
/// ```
/// Picks without a lease (``pick()``) go to the inner balancer and report nothing.
public struct OutlierEjectingBalancer<Source: Endpointer, Inner: Balancer>: Balancer
where Inner.Endpoint == Source.Endpoint {
    public typealias Endpoint = Source.Endpoint

    public let ejection: OutlierEjection<Source>
    public let inner: Inner

    public init(
        _ source: Source, configuration: OutlierEjection<Source>.Configuration = .init(),
        clock: BalancerClock = .shared, balancer: (OutlierEjection<Source>) -> Inner
    ) {
        ejection = OutlierEjection(source, configuration: configuration, clock: clock)
        inner = balancer(ejection)
    }

    @inlinable
    public func pick() throws(DiscoveryError) -> Endpoint { try inner.pick() }

    @inlinable
    public func pick(avoiding address: String?) throws(DiscoveryError) -> (
        address: String, endpoint: Endpoint
    ) {
        try inner.pick(avoiding: address)
    }

    @inlinable
    public func lease(avoiding address: String?) throws(DiscoveryError) -> Lease<Endpoint> {
        var lease = try inner.lease(avoiding: address)
        lease.observer = ejection
        return lease
    }
}
