import Discovery
import Logging

/// Watches the children of a ZooKeeper node and publishes them as instances.
///
/// Each child is one instance, in go-kit's layout (its data is the instance address) or Apache
/// Curator's (its data is a `ServiceInstance` JSON; ``ZooKeeperLayout``): in the layout asked
/// for, or without one in whichever each child is. A child that fits no layout is reported (the
/// first as a warning, the rest at debug level) and skipped. Children of a registration path
/// are ephemeral and written once, so data
/// is read only for children not seen before, and those reads are pipelined: a change costs
/// one `getChildren` and one round trip of reads, not one per child. A child whose data is not
/// an address is reported and skipped.
///
/// The watch loop is driven by the C client's callbacks: a fired watch issues the next listing
/// from the completion thread, the listing issues the reads, the last read publishes. Nothing in
/// it blocks, and no thread hop separates a change from its publication (docs/zookeeper.md says
/// what a task per step cost, and how its state machine is built). Failures become error events
/// followed by backoff and a new listing, for as long as the instancer lives; a new session
/// (after an expiry) re-lists and re-arms the watch.
public final class ZooKeeperInstancer: CoreBackedInstancer {
    public let path: String
    public let client: ZooKeeperClient
    /// The layout children must be in; `nil`: whichever each child is in.
    public let layout: ZooKeeperLayout?
    public let core: InstancerCore

    /// Starts watching at once. The caller owns `client` and closes it after stopping the
    /// instancer.
    ///
    /// - Parameters:
    ///   - client: the session to watch through.
    ///   - path: the node whose children are the instances.
    ///   - layout: the layout children must be in; `nil` takes each in whichever it is.
    ///   - port: which of a Curator instance's ports its address carries.
    ///   - connectTimeout: how long to wait for a session before reporting the ensemble
    ///     unreachable (the instancer keeps trying after that).
    ///   - logger: where failures and skipped children are logged.
    public init(
        client: ZooKeeperClient, path: String, layout: ZooKeeperLayout? = nil,
        port: CuratorServiceInstance.Port = .plain, connectTimeout: Duration = .seconds(1),
        logger: Logger = DiscoveryLogging.disabled
    ) {
        let logger = logger.forBackend("zookeeper")
        self.client = client
        self.path = path
        self.layout = layout
        let cache = InstanceCache()
        let watch = ZooKeeperChildrenWatch(
            client: client, path: path, layout: layout, port: port, connectTimeout: connectTimeout,
            cache: cache,
            logger: logger)
        core = InstancerCore(cache: cache, onStop: { watch.stop() })
        watch.begin()
    }
}
