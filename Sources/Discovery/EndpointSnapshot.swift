/// An immutable view of an ``Endpointer``'s endpoints at one moment.
///
/// `addresses[i]` is the instance address `endpoints[i]` was made for; both arrays are sorted
/// by address. Balancers keep a snapshot per pick stripe and index into it without copying.
public struct EndpointSnapshot<Endpoint: Sendable>: Sendable {
    /// Instance addresses, sorted, parallel to ``endpoints``.
    public let addresses: [String]
    /// The endpoints, parallel to ``addresses``.
    public let endpoints: [Endpoint]
    /// Set when the endpoints were invalidated after a discovery failure; the endpoints are
    /// then empty and this says why.
    public let failure: DiscoveryError?
    /// The priority and weight of each endpoint's instance, parallel to ``endpoints``; empty
    /// when the snapshot was made without them (every endpoint then ranks the same).
    public let preferences: [EndpointPreference]

    public init(
        addresses: [String], endpoints: [Endpoint], preferences: [EndpointPreference] = [],
        failure: DiscoveryError? = nil
    ) {
        precondition(addresses.count == endpoints.count)
        precondition(preferences.isEmpty || preferences.count == endpoints.count)
        self.addresses = addresses
        self.endpoints = endpoints
        self.preferences = preferences
        self.failure = failure
    }

    /// No endpoints and no failure: the state before the first set arrives.
    public static var empty: EndpointSnapshot { EndpointSnapshot(addresses: [], endpoints: []) }

    public var count: Int { endpoints.count }
    public var isEmpty: Bool { endpoints.isEmpty }
}
