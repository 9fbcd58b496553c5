import Discovery

/// Picks one endpoint per request.
///
/// Balancers are safe to use from any thread and allocate nothing per pick.
public protocol Balancer<Endpoint>: Sendable {
    associatedtype Endpoint: Sendable
    /// One endpoint, or ``DiscoveryError/Code/noEndpoints`` when there is none.
    func pick() throws(DiscoveryError) -> Endpoint
    /// One endpoint, preferring one whose address is not `address` when there is a choice.
    func pick(avoiding address: String?) throws(DiscoveryError) -> (address: String, endpoint: Endpoint)
}
