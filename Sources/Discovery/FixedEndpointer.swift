/// An ``Endpointer`` over endpoints that never change.
public struct FixedEndpointer<Endpoint: Sendable>: Endpointer {
    private let fixed: EndpointSnapshot<Endpoint>

    /// Endpoints with the addresses they stand for; sorted here by address.
    public init(addressed pairs: [(address: String, endpoint: Endpoint)]) {
        let sorted = pairs.sorted { $0.address < $1.address }
        fixed = EndpointSnapshot(addresses: sorted.map(\.address), endpoints: sorted.map(\.endpoint))
    }

    /// Endpoints with the instances they were made for, whose priority, weight and zone the
    /// balancers read; sorted here by address.
    public init(instances pairs: [(instance: Instance, endpoint: Endpoint)]) {
        let sorted = pairs.sorted { $0.instance < $1.instance }
        fixed = EndpointSnapshot(
            addresses: sorted.map(\.instance.address), endpoints: sorted.map(\.endpoint),
            preferences: sorted.map { EndpointPreference($0.instance) })
    }

    /// Endpoints without addresses: each is named by its position.
    public init(_ endpoints: [Endpoint]) {
        fixed = EndpointSnapshot(addresses: endpoints.indices.map { "#\($0)" }, endpoints: endpoints)
    }

    public func snapshot() -> EndpointSnapshot<Endpoint> { fixed }
    public var generation: UInt64 { 1 }
}
