import Discovery

/// Smooth, deterministic weighted round robin: over each cycle every endpoint is picked
/// exactly in proportion to its weight, spread evenly, and never twice in a row when no
/// endpoint has more than half the total weight (`WeightedSequence` says how).
///
/// Weights come from the instances (`EndpointPreference/weight`: Consul's
/// `Weights.Passing`, an SRV weight, a `weight` metadata entry); without them it is plain
/// round robin. The cycle is built once per set and shared by every thread, off the pick path
/// when the set changes (as for ``MaglevBalancer``); each thread walks it from its own random
/// place, so that clients started together do not all begin with the same endpoint.
public struct WeightedRoundRobinBalancer<Source: Endpointer>: Balancer {
    public typealias Endpoint = Source.Endpoint

    @usableFromInline let stripes: PickStripes<Source>
    @usableFromInline let builder: TableBuilder<Source>

    public init(_ source: Source) {
        stripes = PickStripes(source: source)
        builder = TableBuilder(build: WeightedSequence.build)
    }

    /// Every thread starts the cycle at its beginning: for tests that check the sequence.
    init(_ source: Source, seed: UInt64) {
        stripes = PickStripes(source: source, seed: seed)
        builder = TableBuilder(build: WeightedSequence.build)
    }

    @inlinable
    public func pick() throws(DiscoveryError) -> Endpoint {
        try stripes.withCurrentEndpoints { state, _ in
            let table = currentTable(&state)
            return table.endpoints[Int(table.entries[Self.advance(&state.counter, table.entries.count)])]
        }
    }

    @inlinable
    public func pick(avoiding address: String?) throws(DiscoveryError) -> (
        address: String, endpoint: Endpoint
    ) {
        try stripes.withCurrentEndpoints { state, _ in
            let table = currentTable(&state)
            var index = Int(table.entries[Self.advance(&state.counter, table.entries.count)])
            // Only when the cycle names another endpoint: weight-0 endpoints are not in it.
            if let address, table.hasAlternatives, table.addresses[index] == address {
                repeat {
                    index = Int(table.entries[Self.advance(&state.counter, table.entries.count)])
                } while table.addresses[index] == address
            }
            return (table.addresses[index], table.endpoints[index])
        }
    }

    /// Builds the cycle for the current set now, so that the next pick on any thread uses it.
    public func prepare() {
        _ = try? stripes.withCurrentEndpoints { state, _ in
            builder.prepare(&state)
            state.counter = state.seed.multipliedFullWidth(by: UInt64(state.table!.entries.count)).high
        }
    }

    @inlinable @inline(__always)
    func currentTable(_ state: inout PickStripes<Source>.State) -> SharedTable<Endpoint> {
        if _slowPath(state.table?.generation != state.generation) {
            let previous = state.table.map(ObjectIdentifier.init)
            builder.adopt(into: &state)
            if state.table.map(ObjectIdentifier.init) != previous {
                // A new cycle: start at this stripe's random place in it.
                state.counter = state.seed.multipliedFullWidth(by: UInt64(state.table!.entries.count)).high
            }
        }
        return state.table.unsafelyUnwrapped
    }

    /// The current position in the cycle, and moves on.
    @inlinable @inline(__always)
    static func advance(_ counter: inout UInt64, _ count: Int) -> Int {
        var position = Int(truncatingIfNeeded: counter)
        if position >= count { position = 0 }
        counter = UInt64(position + 1 == count ? 0 : position + 1)
        return position
    }
}
