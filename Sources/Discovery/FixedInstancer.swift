/// An ``Instancer`` over a set that never changes: for tests, static configuration, and
/// `--instances` style overrides.
public final class FixedInstancer: CoreBackedInstancer {
    public let core = InstancerCore()

    public init(_ instances: [Instance]) {
        core.cache.update(instances)
    }

    /// Convenience for plain address strings, as go-kit's `FixedInstancer` takes them.
    public convenience init(addresses: [String]) {
        self.init(addresses.map { Instance(address: $0) })
    }
}
