/// An ``Endpointer`` over endpoints that never change.
public struct FixedEndpointer<Endpoint: Sendable>: Endpointer {
    private let fixed: EndpointSnapshot<Endpoint>

    /// Endpoints with the addresses they stand for; sorted here by address.
    public init(addressed pairs: [(address: String, endpoint: Endpoint)]) {
        let sorted = pairs.sorted { $0.address < $1.address }
        fixed = EndpointSnapshot(addresses: sorted.map(\.address), endpoints: sorted.map(\.endpoint))
    }

    /// Endpoints without addresses: each is named by its position.
    public init(_ endpoints: [Endpoint]) {
        fixed = EndpointSnapshot(addresses: endpoints.indices.map { "#\($0)" }, endpoints: endpoints)
    }

    public func snapshot() -> EndpointSnapshot<Endpoint> { fixed }
    public var generation: UInt64 { 1 }
}
