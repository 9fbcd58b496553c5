import Discovery

/// A balancer that also picks by key: the same key picks the same endpoint while the set is
/// unchanged, and a retry for a key goes to the same next endpoint in every client. Keys are
/// hashed with ``KeyHash``, the same in every process.
public protocol KeyedBalancer<Endpoint>: Balancer {
    associatedtype Endpoint

    /// The endpoint for a key's hash.
    func pick(hash: UInt64) throws(DiscoveryError) -> Endpoint

    /// The endpoint for a key's hash, or when that is `address`, the next other endpoint for
    /// that key.
    func pick(hash: UInt64, avoiding address: String?) throws(DiscoveryError) -> (
        address: String, endpoint: Endpoint
    )
}

extension KeyedBalancer {
    /// A balancer that always picks for `key`: ``Retry`` around it retries the key's endpoint
    /// first, then the next one for that key.
    public func keyed(_ key: String) -> KeyBoundBalancer<Self> {
        KeyBoundBalancer(balancer: self, hash: KeyHash.hash(key))
    }
}

/// A ``KeyedBalancer`` bound to one key.
public struct KeyBoundBalancer<Base: KeyedBalancer>: Balancer {
    public typealias Endpoint = Base.Endpoint
    public let balancer: Base
    public let hash: UInt64

    @inlinable
    public func pick() throws(DiscoveryError) -> Endpoint { try balancer.pick(hash: hash) }

    @inlinable
    public func pick(avoiding address: String?) throws(DiscoveryError) -> (
        address: String, endpoint: Endpoint
    ) {
        try balancer.pick(hash: hash, avoiding: address)
    }
}
