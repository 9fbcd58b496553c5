/// An ``Instancer`` whose subscriptions, last good set, `run()` and `stop()` are those of its
/// ``InstancerCore``: a backend's instancer conforms and supplies only its watch.
public protocol CoreBackedInstancer: Instancer {
    /// The cache and lifecycle this instancer's watch publishes into.
    var core: InstancerCore { get }
}

extension CoreBackedInstancer {
    public func subscribe() -> InstanceSubscription { core.cache.subscribe() }
    public var instances: [Instance]? { core.cache.instances }
    public var freshness: InstanceFreshness? { core.cache.freshness }
    public func run() async { await core.run() }
    public func stop() { core.stop() }
}
