import Discovery

/// Consistent hashing with Maglev's lookup table: a key picks the same endpoint while the set
/// is unchanged, and when one of N endpoints joins or leaves, about 1/N of keys move.
///
/// A pick hashes the key (``KeyHash``, the same in every process) and reads one slot of a
/// fixed-size table: O(1), whatever the number of endpoints. The table (65,537 slots; from 256
/// endpoints on, 16 per endpoint) gives each endpoint its share of slots to within one, in proportion
/// to its weight (`EndpointPreference/weight`).
///
/// The table is rebuilt off the pick path when the set changes (`TableBuilder`): until the
/// new one is ready, picks use the previous table and the endpoints it was built from.
/// ``prepare()`` builds it at once.
///
/// ``pick()`` without a key picks a slot at random (uniform by weight); ``keyed(_:)`` gives a
/// ``Balancer`` bound to one key, for ``Retry``.
public struct MaglevBalancer<Source: Endpointer>: KeyedBalancer {
    public typealias Endpoint = Source.Endpoint

    @usableFromInline let stripes: PickStripes<Source>
    @usableFromInline let builder: TableBuilder<Source>

    public init(_ source: Source) {
        stripes = PickStripes(source: source)
        builder = TableBuilder(build: MaglevTable.build)
    }

    /// The endpoint for `key`.
    @inlinable
    public func pick(key: String) throws(DiscoveryError) -> Endpoint {
        try pick(hash: KeyHash.hash(key))
    }

    /// The endpoint for a key hashed by the caller (any well-mixed 64-bit hash).
    @inlinable
    public func pick(hash: UInt64) throws(DiscoveryError) -> Endpoint {
        try stripes.withCurrentEndpoints { state, _ in
            let table = currentTable(&state)
            return table.endpoints[Int(table.entries[Self.slot(hash, table.entries.count)])]
        }
    }

    /// The endpoint for a key's hash, or when that is `address`, the next other endpoint along
    /// the table (the same for every client).
    @inlinable
    public func pick(hash: UInt64, avoiding address: String?) throws(DiscoveryError) -> (
        address: String, endpoint: Endpoint
    ) {
        try stripes.withCurrentEndpoints { state, _ in
            let table = currentTable(&state)
            return Self.entry(table, from: Self.slot(hash, table.entries.count), avoiding: address)
        }
    }

    /// A random slot: uniform over the endpoints by weight.
    @inlinable
    public func pick() throws(DiscoveryError) -> Endpoint {
        try stripes.withCurrentEndpoints { state, _ in
            let table = currentTable(&state)
            let slot = RandomBalancer<Source>.draw(&state.counter, below: table.entries.count)
            return table.endpoints[Int(table.entries[slot])]
        }
    }

    @inlinable
    public func pick(avoiding address: String?) throws(DiscoveryError) -> (
        address: String, endpoint: Endpoint
    ) {
        try stripes.withCurrentEndpoints { state, _ in
            let table = currentTable(&state)
            let slot = RandomBalancer<Source>.draw(&state.counter, below: table.entries.count)
            return Self.entry(table, from: slot, avoiding: address)
        }
    }

    /// The endpoint at `slot`, or when that is `address`, the next other one along the table;
    /// `address` itself when the table names no other (the rest have weight 0).
    @inlinable @inline(__always)
    static func entry(_ table: SharedTable<Endpoint>, from slot: Int, avoiding address: String?) -> (
        address: String, endpoint: Endpoint
    ) {
        var slot = slot
        var index = Int(table.entries[slot])
        if let address, table.hasAlternatives, table.addresses[index] == address {
            repeat {
                slot = slot + 1 == table.entries.count ? 0 : slot + 1
                index = Int(table.entries[slot])
            } while table.addresses[index] == address
        }
        return (table.addresses[index], table.endpoints[index])
    }

    /// Builds the table for the current set now, so that the next pick on any thread uses it.
    public func prepare() {
        _ = try? stripes.withCurrentEndpoints { state, _ in builder.prepare(&state) }
    }

    /// ``MaglevBalancer`` bound to one key.
    public typealias Keyed = KeyBoundBalancer<MaglevBalancer>

    @inlinable @inline(__always)
    func currentTable(_ state: inout PickStripes<Source>.State) -> SharedTable<Endpoint> {
        if _slowPath(state.table?.generation != state.generation) { builder.adopt(into: &state) }
        return state.table.unsafelyUnwrapped
    }

    @inlinable @inline(__always)
    static func slot(_ hash: UInt64, _ count: Int) -> Int {
        Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(count)).high)
    }
}
