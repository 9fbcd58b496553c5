import Discovery

/// Picks an endpoint uniformly at random.
///
/// Each thread has its own generator state (SplitMix64) inside its pick stripe, so picks are
/// safe from any thread without a shared generator.
public struct RandomBalancer<Source: Endpointer>: Balancer {
    public typealias Endpoint = Source.Endpoint

    @usableFromInline let stripes: PickStripes<Source>

    public init(_ source: Source) {
        stripes = PickStripes(source: source)
    }

    @inlinable
    public func pick() throws(DiscoveryError) -> Endpoint {
        try stripes.withCurrentEndpoints { state, _ in
            state.endpoints[Self.draw(&state.counter, below: state.endpoints.count)]
        }
    }

    @inlinable
    public func pick(avoiding address: String?) throws(DiscoveryError) -> (
        address: String, endpoint: Endpoint
    ) {
        try stripes.withCurrentEndpoints { state, _ in
            let count = state.endpoints.count
            var index = Self.draw(&state.counter, below: count)
            if let address, count > 1, state.addresses[index] == address {
                // Uniform over the others.
                index = (index + 1 + Self.draw(&state.counter, below: count - 1)) % count
            }
            return (state.addresses[index], state.endpoints[index])
        }
    }

    /// A uniform integer in `0..<bound` from SplitMix64, by multiply-high instead of modulo.
    @inlinable @inline(__always)
    static func draw(_ state: inout UInt64, below bound: Int) -> Int {
        Int(truncatingIfNeeded: next(&state).multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// SplitMix64's next 64 bits.
    @inlinable @inline(__always)
    static func next(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
