import Logging

/// The ``Endpointer`` most programs want: subscribes to an ``Instancer`` and keeps an
/// ``EndpointCache`` current from it.
///
/// The instancer's current set is applied before the initializer returns, so the first
/// ``snapshot()`` already has it. Failed factory calls are retried with backoff while any are
/// pending, and `invalidateOnError` is enforced by a timer, not on the pick path.
public final class DefaultEndpointer<Endpoint: Sendable>: Endpointer, Sendable {
    public typealias Factory = EndpointCache<Endpoint>.Factory

    private let cache: EndpointCache<Endpoint>
    private let subscription: InstanceSubscription
    private let loop: Task<Void, Never>

    /// - Parameters:
    ///   - instancer: where the instances come from.
    ///   - factory: makes an endpoint (and optional closer) for an instance.
    ///   - invalidateOnError: close all endpoints after discovery has failed this long.
    ///   - retryBackoff: how failed factory calls are retried.
    ///   - logger: where failed factory calls and invalidations are logged.
    public init(
        instancer: some Instancer,
        factory: @escaping Factory,
        invalidateOnError: Duration? = nil,
        retryBackoff: Backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30)),
        logger: Logger = DiscoveryLogging.disabled
    ) {
        let cache = EndpointCache(factory: factory, invalidateOnError: invalidateOnError, logger: logger)
        let subscription = instancer.subscribe()
        if let first = subscription.poll() { cache.update(first) }
        self.cache = cache
        self.subscription = subscription
        self.loop = Task {
            await Self.run(cache: cache, subscription: subscription, retryBackoff: retryBackoff)
        }
    }

    deinit {
        close()
    }

    public func snapshot() -> EndpointSnapshot<Endpoint> { cache.snapshot() }
    public var generation: UInt64 { cache.generation }

    /// Stops following the instancer and closes every endpoint. Idempotent.
    public func close() {
        subscription.cancel()
        loop.cancel()
        cache.close()
    }

    /// Waits for the next event, or for the next timer (factory retry, invalidation), whichever
    /// comes first. One task per endpointer; it ends when the subscription ends.
    private static func run(
        cache: EndpointCache<Endpoint>,
        subscription: InstanceSubscription,
        retryBackoff: Backoff
    ) async {
        var backoff = retryBackoff
        var nextRetry: ContinuousClock.Instant?
        let mailbox = subscription.mailbox
        while !Task.isCancelled {
            if cache.pendingRetries == 0 {
                nextRetry = nil
                backoff.reset()
            } else if nextRetry == nil {
                nextRetry = .now + backoff.next()
            }
            let timer = [nextRetry, cache.invalidationDeadline].compactMap { $0 }.min()
            let event: InstancerEvent?
            if let timer {
                event = await next(from: mailbox, orUntil: timer)
            } else {
                event = await mailbox.next()
            }
            if let event {
                cache.update(event)
            } else if mailbox.isFinished {
                return
            }
            // Timers are checked on every wake-up, so an event that raced a timer loses nothing.
            cache.invalidateIfExpired()
            if let retry = nextRetry, retry <= .now {
                cache.retryFailed()
                nextRetry = nil
            }
        }
    }

    /// The next event, or `nil` once `deadline` has passed with none.
    private static func next(
        from mailbox: InstanceSubscription.Mailbox,
        orUntil deadline: ContinuousClock.Instant
    ) async -> InstancerEvent? {
        if let ready = mailbox.poll() { return ready }
        return await withTaskGroup(of: InstancerEvent?.self) { group in
            group.addTask { await mailbox.next(endOnCancel: false) }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            var event = await group.next() ?? nil
            group.cancelAll()
            // Both children finish; an event that arrived as the timer fired is kept.
            for await result in group where result != nil { event = result }
            return event
        }
    }
}
