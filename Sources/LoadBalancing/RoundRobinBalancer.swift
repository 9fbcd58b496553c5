import Discovery

/// Hands out endpoints in turn.
///
/// Each thread walks the endpoints from its own random starting position, so that many
/// clients started together do not all hit the first instance, and threads never contend on
/// a shared counter.
public struct RoundRobinBalancer<Source: Endpointer>: Balancer {
    public typealias Endpoint = Source.Endpoint

    @usableFromInline let stripes: PickStripes<Source>

    public init(_ source: Source) {
        stripes = PickStripes(source: source)
    }

    @inlinable
    public func pick() throws(DiscoveryError) -> Endpoint {
        try stripes.withCurrentEndpoints { state, refreshed in
            state.endpoints[Self.advance(&state, refreshed: refreshed)]
        }
    }

    @inlinable
    public func pick(avoiding address: String?) throws(DiscoveryError) -> (
        address: String, endpoint: Endpoint
    ) {
        try stripes.withCurrentEndpoints { state, refreshed in
            var index = Self.advance(&state, refreshed: refreshed)
            if let address, state.endpoints.count > 1, state.addresses[index] == address {
                index = Self.advance(&state, refreshed: false)
            }
            return (state.addresses[index], state.endpoints[index])
        }
    }

    /// Returns the current position and moves on; no division on the hot path.
    @inlinable @inline(__always)
    static func advance(_ state: inout PickStripes<Source>.State, refreshed: Bool) -> Int {
        let count = state.endpoints.count
        if refreshed {
            // A new set: start at this stripe's random place in it.
            state.counter = state.seed.multipliedFullWidth(by: UInt64(count)).high
        }
        var index = Int(truncatingIfNeeded: state.counter)
        if index >= count { index = 0 }
        state.counter = UInt64(index + 1 == count ? 0 : index + 1)
        return index
    }
}
