/// Something that closes an endpoint's resources when its instance goes away.
public typealias EndpointCloser = @Sendable () -> Void

/// Turns an ``Instancer``'s instances into callable endpoints.
///
/// Balancers read ``snapshot()`` only when ``generation`` has moved, so a pick costs one atomic
/// load of the generation rather than a lock on the endpointer.
public protocol Endpointer<Endpoint>: Sendable {
    associatedtype Endpoint: Sendable
    /// The current endpoints.
    func snapshot() -> EndpointSnapshot<Endpoint>
    /// A number that changes whenever ``snapshot()`` would return something different.
    var generation: UInt64 { get }
}
