import Logging
import Synchronization

/// Keeps one endpoint per instance across instancer events.
///
/// On each set, instances that survive keep their endpoint, new ones get one from the factory,
/// and removed ones have their closer called. A factory call that fails is remembered and
/// tried again (``retryFailed()``) and on the next set. The factory and closers run under the
/// updater's own lock, never under the lock that readers of ``snapshot()`` take.
///
/// With `invalidateOnError`, a failure event starts a timer; when it has run that long with no
/// good set in between, every endpoint is closed and the snapshot carries the failure.
/// Later failures do not restart the timer; a good set stops it.
public final class EndpointCache<Endpoint: Sendable>: Endpointer, Sendable {
    /// Makes an endpoint for an instance, with an optional closer for its resources.
    public typealias Factory = @Sendable (Instance) throws -> (endpoint: Endpoint, closer: EndpointCloser?)

    private struct UpdaterState: Sendable {
        // Parallel arrays sorted by address; the first two are published as they are.
        var addresses: [String] = []
        var endpoints: [Endpoint] = []
        var closers: [EndpointCloser?] = []
        var preferences: [EndpointPreference] = []
        var lastSet: [Instance] = []
        var failed: [Instance] = []
        var failingSince: ContinuousClock.Instant?
        var lastFailure: DiscoveryError?
        var invalidated = false
        var closed = false
    }

    private let factory: Factory
    private let invalidateOnError: Duration?
    private let logger: Logger
    private let updater = Mutex(UpdaterState())
    private let published = Mutex(EndpointSnapshot<Endpoint>.empty)
    private let generationCounter = Atomic<UInt64>(0)

    public init(factory: @escaping Factory, invalidateOnError: Duration? = nil, logger: Logger) {
        self.factory = factory
        self.invalidateOnError = invalidateOnError
        self.logger = logger
    }

    public func snapshot() -> EndpointSnapshot<Endpoint> {
        published.withLock { $0 }
    }

    public var generation: UInt64 {
        generationCounter.load(ordering: .acquiring)
    }

    /// Instances whose factory call failed and that wait for a retry.
    public var pendingRetries: Int {
        updater.withLock { $0.failed.count }
    }

    /// When the current failure streak began, if invalidation is armed.
    public var invalidationDeadline: ContinuousClock.Instant? {
        updater.withLock { state in
            guard let since = state.failingSince, let invalidateOnError, !state.invalidated else {
                return nil
            }
            return since + invalidateOnError
        }
    }

    /// Applies one instancer event.
    public func update(_ event: InstancerEvent, now: ContinuousClock.Instant = .now) {
        updater.withLock { state in
            guard !state.closed else { return }
            switch event {
            case .instances(let instances):
                // After an invalidation the snapshot carries the failure: a good set must replace
                // it even when it merges to no change (an empty set after an empty one).
                let wasInvalidated = state.invalidated
                state.failingSince = nil
                state.lastFailure = nil
                state.invalidated = false
                state.lastSet = instances
                apply(instances, to: &state, forcePublish: wasInvalidated)
            case .failure(let error):
                state.lastFailure = error
                if state.failingSince == nil, invalidateOnError != nil { state.failingSince = now }
                if state.invalidated {
                    publish(EndpointSnapshot(addresses: [], endpoints: [], failure: error))
                }
            }
        }
    }

    /// Tries the failed factory calls again against the last set.
    public func retryFailed() {
        updater.withLock { state in
            guard !state.closed, !state.failed.isEmpty, !state.invalidated else { return }
            apply(state.lastSet, to: &state)
        }
    }

    /// Closes every endpoint if the failure streak has lasted `invalidateOnError`.
    @discardableResult
    public func invalidateIfExpired(now: ContinuousClock.Instant = .now) -> Bool {
        updater.withLock { state in
            guard !state.closed, !state.invalidated, let since = state.failingSince,
                let invalidateOnError, now >= since + invalidateOnError,
                let failure = state.lastFailure
            else { return false }
            logger.warning(
                "discovery failing too long; closing every endpoint",
                metadata: DiscoveryLogEvent.endpointsInvalidated.metadata([
                    "sd.error": "\(failure)", "sd.invalidateOnError": "\(invalidateOnError)",
                    "sd.endpoints": "\(state.addresses.count)",
                ]))
            Self.closeAll(&state)
            state.invalidated = true
            publish(EndpointSnapshot(addresses: [], endpoints: [], failure: failure))
            return true
        }
    }

    /// Closes every endpoint; later events are ignored. Idempotent.
    public func close() {
        updater.withLock { state in
            guard !state.closed else { return }
            state.closed = true
            Self.closeAll(&state)
            publish(.empty)
        }
    }

    private static func closeAll(_ state: inout UpdaterState) {
        for closer in state.closers { closer?() }
        state.addresses = []
        state.endpoints = []
        state.closers = []
        state.preferences = []
        state.failed = []
    }

    /// Merges a set into the entries in one pass over both sorted lists: survivors are reused,
    /// new instances built, removed ones closed. The new arrays are published as they are.
    private func apply(_ instances: [Instance], to state: inout UpdaterState, forcePublish: Bool = false) {
        let incoming =
            Self.isSortedByAddress(instances) ? instances : instances.sorted { $0.address < $1.address }
        let oldAddresses = state.addresses
        let oldEndpoints = state.endpoints
        let oldClosers = state.closers
        var addresses: [String] = []
        var endpoints: [Endpoint] = []
        var closers: [EndpointCloser?] = []
        var preferences: [EndpointPreference] = []
        addresses.reserveCapacity(incoming.count)
        preferences.reserveCapacity(incoming.count)
        endpoints.reserveCapacity(incoming.count)
        closers.reserveCapacity(incoming.count)
        var failed: [Instance] = []
        var changed = oldAddresses.count != incoming.count || !state.failed.isEmpty
        var oldIndex = 0
        for index in incoming.indices {
            let address = incoming[index].address
            // Equality first: most instances survive an update, and equal small strings compare
            // by their raw bits; ordering is only needed when they differ.
            var survives = oldIndex < oldAddresses.count && oldAddresses[oldIndex] == address
            if !survives {
                while oldIndex < oldAddresses.count, oldAddresses[oldIndex] < address {
                    oldClosers[oldIndex]?()
                    changed = true
                    oldIndex += 1
                }
                survives = oldIndex < oldAddresses.count && oldAddresses[oldIndex] == address
            }
            if survives {
                addresses.append(address)
                endpoints.append(oldEndpoints[oldIndex])
                closers.append(oldClosers[oldIndex])
                preferences.append(EndpointPreference(incoming[index]))
                oldIndex += 1
                continue
            }
            if let last = addresses.last, last == address { continue }  // same address twice: one endpoint
            changed = true
            do {
                let made = try factory(incoming[index])
                addresses.append(address)
                endpoints.append(made.endpoint)
                closers.append(made.closer)
                preferences.append(EndpointPreference(incoming[index]))
            } catch {
                logger.warning(
                    "endpoint factory failed; will retry",
                    metadata: DiscoveryLogEvent.endpointFactoryFailed.metadata([
                        "sd.instance": "\(address)", "sd.error": "\(error)",
                    ]))
                failed.append(incoming[index])
            }
        }
        while oldIndex < oldAddresses.count {
            oldClosers[oldIndex]?()
            changed = true
            oldIndex += 1
        }
        // A surviving instance whose priority or weight changed is a change for the balancers.
        changed = changed || preferences != state.preferences
        state.addresses = addresses
        state.endpoints = endpoints
        state.closers = closers
        state.preferences = preferences
        state.failed = failed
        guard changed || forcePublish || generationCounter.load(ordering: .relaxed) == 0 else { return }
        publish(EndpointSnapshot(addresses: addresses, endpoints: endpoints, preferences: preferences))
    }

    private func publish(_ snapshot: EndpointSnapshot<Endpoint>) {
        published.withLock { $0 = snapshot }
        generationCounter.wrappingAdd(1, ordering: .releasing)
    }

    private static func isSortedByAddress(_ instances: [Instance]) -> Bool {
        guard instances.count > 1 else { return true }
        for index in 1..<instances.count where instances[index].address < instances[index - 1].address {
            return false
        }
        return true
    }
}
