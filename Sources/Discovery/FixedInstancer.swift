/// An ``Instancer`` over a set that never changes: for tests, static configuration, and
/// `--instances` style overrides.
public struct FixedInstancer: Instancer {
    private let cache = InstanceCache()

    public init(_ instances: [Instance]) {
        cache.update(instances)
    }

    /// Convenience for plain address strings, as go-kit's `FixedInstancer` takes them.
    public init(addresses: [String]) {
        self.init(addresses.map { Instance(address: $0) })
    }

    public func subscribe() -> InstanceSubscription { cache.subscribe() }
    public func stop() { cache.stop() }
}
