import Discovery
import Logging
import Synchronization

/// Watches a Service's EndpointSlices and publishes their endpoints, the way client-go's
/// informers do: list (page by page), then watch from the list's resource version with
/// bookmarks, apply each ADDED, MODIFIED and DELETED to the slice it names, and publish the
/// union of all slices after each.
///
/// - A watch the server ends (its timeout) is opened again from the last version seen, which
///   bookmarks keep current; a 410 (the version is too old) or an ERROR event lists again.
/// - Failures are published (the last good set is kept) and retried with backoff and jitter;
///   a watch that ends at once without an event waits too, so nothing loops hot.
/// - A Service with no endpoints is an empty set; if the Service itself does not exist, that is
///   a `DiscoveryError/Code/notFound` failure that says so.
public final class KubernetesInstancer: CoreBackedInstancer {
    public struct Configuration: Sendable {
        public var selection: KubernetesEndpointSelection
        /// How long each watch asks the server to keep its stream open (client-go: 5-10 min).
        public var watchTimeout: Duration
        /// How long a watch stream may stay silent (bookmarks included) before it is given up
        /// and opened again. API servers send a bookmark about once a minute.
        public var idleTimeout: Duration
        public var errorBackoff: Backoff
        /// The most instances a Service may have; more is an error whose cause is
        /// `InstanceLimitExceeded`.
        public var maximumInstances: Int

        public init(
            selection: KubernetesEndpointSelection = KubernetesEndpointSelection(),
            watchTimeout: Duration = .seconds(300), idleTimeout: Duration = .seconds(150),
            errorBackoff: Backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30)),
            maximumInstances: Int = Instance.defaultMaximumPerAnswer
        ) {
            self.selection = selection
            self.watchTimeout = max(watchTimeout, .seconds(1))
            self.idleTimeout = max(idleTimeout, .milliseconds(100))
            self.errorBackoff = errorBackoff
            self.maximumInstances = maximumInstances
        }
    }

    public let client: KubernetesClient
    public let namespace: String
    public let service: String
    public let core: InstancerCore

    /// Starts listing at once. The caller owns `client` and closes it after stopping the
    /// instancer.
    public init(
        client: KubernetesClient, namespace: String, service: String,
        configuration: Configuration = Configuration(), logger: Logger = DiscoveryLogging.disabled
    ) {
        let logger = logger.forBackend("k8s")
        self.client = client
        self.namespace = namespace
        self.service = service
        let watch = EndpointSliceWatch(
            client: client,
            slices: EndpointSliceSet(
                namespace: namespace, service: service, selection: configuration.selection,
                maximumInstances: configuration.maximumInstances),
            configuration: configuration, logger: logger)
        core = InstancerCore { cache in await watch.run(publishingTo: cache) }
    }
}

/// The list-and-watch loop behind a ``KubernetesInstancer``.
struct EndpointSliceWatch: Sendable {
    let client: KubernetesClient
    let slices: EndpointSliceSet
    let configuration: KubernetesInstancer.Configuration
    let logger: Logger

    /// What the loop holds across a watch's events (its callback is `@Sendable`).
    private struct Position: Sendable {
        var slices: EndpointSliceSet
        /// The version to watch from; `nil`: list first.
        var resourceVersion: String?
        var events = 0
        var serviceChecked = false
        /// The slices' revision of the set last published, `nil` after a failure was: an event
        /// that leaves the revision as it was publishes nothing, and one that changes it
        /// publishes without the cache comparing the whole set.
        var published: Int?
    }

    /// What an event makes the loop publish.
    private enum Publication {
        case nothing
        /// A set that differs from the last one published.
        case changed([Instance])
        /// A set after a failure (the cache compares it with the last good one).
        case set([Instance])
    }

    func run(publishingTo cache: InstanceCache) async {
        let namespace = slices.namespace
        let service = slices.service
        let position = Mutex(Position(slices: slices))
        var backoff = configuration.errorBackoff
        while !Task.isCancelled {
            do throws(DiscoveryError) {
                if position.withLock({ $0.resourceVersion == nil }) {
                    let list = try await client.endpointSlices(
                        namespace: namespace, service: service, maximumSlices: configuration.maximumInstances)
                    let set = try position.withLock { position throws(DiscoveryError) in
                        position.slices.replaceAll(list.items)
                        position.resourceVersion = list.resourceVersion
                        position.published = nil
                        let set = try position.slices.instances()
                        position.published = position.slices.revision
                        return set
                    }
                    if set.isEmpty, !position.withLock({ $0.serviceChecked }) {
                        guard try await client.serviceExists(namespace: namespace, service: service) else {
                            position.withLock { $0.resourceVersion = nil }
                            throw DiscoveryError(
                                .notFound, "k8s: service \(service) not found in namespace \(namespace)")
                        }
                        position.withLock { $0.serviceChecked = true }
                    }
                    cache.update(set)
                }
                let started = ContinuousClock.now
                // Watching again from the version the set is at: it is current (after a failure,
                // this is what clears its staleness).
                let opened: @Sendable () -> Void = { cache.confirm() }
                let from = position.withLock { state -> String in
                    state.events = 0
                    return state.resourceVersion ?? ""
                }
                _ = try await client.watchEndpointSlices(
                    namespace: namespace, service: service, from: from, timeout: configuration.watchTimeout,
                    idleTimeout: configuration.idleTimeout, onOpen: opened
                ) { event throws(DiscoveryError) in
                    let publication = try position.withLock {
                        position throws(DiscoveryError) -> Publication in
                        position.events += 1
                        switch event {
                        case .added(let slice), .modified(let slice), .deleted(let slice):
                            position.slices.apply(event)
                            if let version = slice.metadata.resourceVersion {
                                position.resourceVersion = version
                            }
                            let previous = position.published
                            position.published = nil
                            let set = try position.slices.instances()
                            position.published = position.slices.revision
                            switch previous {
                            case position.slices.revision: return .nothing
                            case .some: return .changed(set)
                            case nil: return .set(set)
                            }
                        case .bookmark(let version):
                            position.resourceVersion = version
                            return .nothing
                        case .error(let status):
                            if status.isGone { position.resourceVersion = nil }
                            throw DiscoveryError(
                                status.isGone ? .invalidArgument : .unavailable,
                                "k8s: watching the EndpointSlices of service \(service): \(status.summary)",
                                cause: status)
                        }
                    }
                    switch publication {
                    case .nothing: break
                    case .changed(let set): cache.update(sortedAndChanged: set)
                    case .set(let set): cache.update(set)
                    }
                    return true
                }
                backoff.reset()
                // A stream that ended at once without an event (a server answering with empty
                // streams) is not opened again at once.
                if position.withLock({ $0.events }) == 0, ContinuousClock.now - started < .seconds(1) {
                    try? await Task.sleep(for: backoff.next())
                }
            } catch  where error.code == .stopped {
                return
            } catch {
                if Task.isCancelled { return }
                if error.kubernetesStatus?.isGone == true {
                    // The version is too old: list again, at once (client-go does the same).
                    position.withLock { $0.resourceVersion = nil }
                    logger.info(
                        "resource version expired; listing again",
                        metadata: ["sd.namespace": "\(namespace)", "sd.service": "\(service)"])
                    continue
                }
                let delay = backoff.next()
                logger.debug(
                    "list or watch failed; retrying",
                    metadata: [
                        "sd.namespace": "\(namespace)", "sd.service": "\(service)", "sd.error": "\(error)",
                        "sd.delay": "\(delay)",
                    ])
                position.withLock { $0.published = nil }
                cache.fail(error)
                try? await Task.sleep(for: delay)
            }
        }
    }
}
