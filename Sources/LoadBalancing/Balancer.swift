import Discovery

/// Picks one endpoint per request.
///
/// Balancers are safe to use from any thread and allocate nothing per pick.
public protocol Balancer<Endpoint>: Sendable {
    associatedtype Endpoint: Sendable
    /// One endpoint, or `DiscoveryError/Code/noEndpoints` when there is none.
    func pick() throws(DiscoveryError) -> Endpoint
    /// One endpoint, preferring one whose address is not `address` when there is a choice.
    func pick(avoiding address: String?) throws(DiscoveryError) -> (address: String, endpoint: Endpoint)
    /// One endpoint held for the length of a call: complete the lease with how the call went,
    /// so that load-aware balancers and outlier ejection can learn from it. Balancers that
    /// learn nothing hand out a lease that reports to nobody (the default).
    func lease(avoiding address: String?) throws(DiscoveryError) -> Lease<Endpoint>
}

extension Balancer {
    @inlinable
    public func lease(avoiding address: String?) throws(DiscoveryError) -> Lease<Endpoint> {
        let picked = try pick(avoiding: address)
        return Lease(address: picked.address, endpoint: picked.endpoint)
    }

    /// A lease on any endpoint (``lease(avoiding:)`` with nothing to avoid).
    @inlinable
    public func lease() throws(DiscoveryError) -> Lease<Endpoint> {
        try lease(avoiding: nil)
    }
}
