import Discovery
import Logging

/// Watches one service through blocking health queries and publishes its instances.
///
/// Each query waits on the index of the last answer, so an unchanged service costs one request
/// per ``Configuration/wait``; the index is handled as Consul asks (reset when it goes
/// backwards, never blocked on below 1). The loop cannot spin: an answer that changes nothing
/// and comes back before the wait ran out (a server that answers at once with a constant index,
/// or whose index moves for unrelated reasons) delays the next request by
/// ``Configuration/idleBackoff``, and a failure is published and delays it by
/// ``Configuration/errorBackoff``. Answers that change the set are followed at once.
public final class ConsulInstancer: CoreBackedInstancer {
    public struct Configuration: Sendable {
        /// How long each blocking query may wait for a change (Consul caps it at 10 minutes).
        public var wait: Duration
        /// Delays after failures; reset by the next answer.
        public var errorBackoff: Backoff
        /// Delays after early answers that changed nothing; reset by a change or a full wait.
        public var idleBackoff: Backoff

        public init(
            wait: Duration = .seconds(300),
            errorBackoff: Backoff = Backoff(initial: .milliseconds(250), maximum: .seconds(5)),
            idleBackoff: Backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        ) {
            self.wait = min(max(wait, .milliseconds(1)), .seconds(600))
            self.errorBackoff = errorBackoff
            self.idleBackoff = idleBackoff
        }
    }

    public let client: ConsulClient
    public let query: ConsulHealthQuery
    public let core: InstancerCore

    /// Starts watching at once. The caller owns `client` and closes it after stopping the
    /// instancer.
    public init(
        client: ConsulClient, query: ConsulHealthQuery, configuration: Configuration = Configuration(),
        logger: Logger = DiscoveryLogging.disabled
    ) {
        let logger = logger.forBackend("consul")
        self.client = client
        self.query = query
        core = InstancerCore { cache in
            await Self.watch(client, query, configuration, cache, logger)
        }
    }

    private static func watch(
        _ client: ConsulClient, _ query: ConsulHealthQuery, _ configuration: Configuration,
        _ cache: InstanceCache,
        _ logger: Logger
    ) async {
        let clock = ContinuousClock()
        var errorBackoff = configuration.errorBackoff
        var idleBackoff = configuration.idleBackoff
        var index: UInt64 = 0
        var published: [Instance]?
        let service: Logger.MetadataValue = "\(query.service)"
        while !Task.isCancelled {
            let started = clock.now
            var delay: Duration?
            do {
                // Instances made entry by entry as the answer arrives: the entries themselves
                // are never all held, and an instance that has not changed is the one already
                // held (Instance.reusing; docs/benchmarks.md, "Memory per 100,000 instances").
                let last = cache.instances ?? []
                let answer = try await client.health(
                    query, index: index > 0 ? index : nil, wait: configuration.wait
                ) { $0.instance?.reusing(last) }
                errorBackoff.reset()
                var instances = answer.values
                if instances.count < answer.decoded {
                    logger.debug(
                        "entries without a usable address or port, or failing the query's filter, skipped",
                        metadata: [
                            "sd.service": service, "sd.skipped": "\(answer.decoded - instances.count)",
                        ])
                }
                instances.sort()
                let next = BlockingIndex.next(after: index, received: answer.index)
                if next.wentBackwards {
                    logger.debug(
                        "index went backwards; reading afresh",
                        metadata: ["sd.service": service, "sd.from": "\(index)", "sd.to": "\(answer.index)"])
                }
                logger.trace(
                    "answer",
                    metadata: [
                        "sd.service": service, "sd.index": "\(answer.index)",
                        "sd.instances": "\(instances.count)",
                    ])
                let changed = instances != published
                let waitedInFull = index > 0 && clock.now - started >= configuration.wait
                if changed || waitedInFull {
                    idleBackoff.reset()
                } else {
                    delay = idleBackoff.next()
                }
                index = next.index
                published = instances
                cache.update(instances, lag: answer.lastContact ?? .zero)
            } catch  where error.code == .stopped {
                return
            } catch {
                if Task.isCancelled { return }
                let wait = errorBackoff.next()
                delay = wait
                // Read afresh once it answers again: the agent may have restarted meanwhile.
                index = 0
                published = nil
                logger.debug(
                    "query failed",
                    metadata: ["sd.service": service, "sd.error": "\(error)", "sd.delay": "\(wait)"])
                cache.fail(error)
            }
            if let delay {
                try? await Task.sleep(for: delay)
            }
        }
    }
}
