import Discovery
import Logging
import Synchronization
import TestSupport
import Testing

/// Counts factory calls and closes, and can be told to fail for some addresses.
final class FactoryProbe: Sendable {
    let made = Mutex<[String]>([])
    let closed = Mutex<[String]>([])
    let failing = Mutex<Set<String>>([])

    var factory: EndpointCache<String>.Factory {
        { instance in
            if self.failing.withLock({ $0.contains(instance.address) }) {
                throw DiscoveryError(.unavailable, "factory refuses \(instance.address)")
            }
            self.made.withLock { $0.append(instance.address) }
            let address = instance.address
            return ("endpoint(\(address))", { self.closed.withLock { $0.append(address) } })
        }
    }
}

@Suite("EndpointCache and DefaultEndpointer")
struct EndpointCacheTests {
    let logger = Logger(label: "test")

    func set(_ addresses: String...) -> InstancerEvent {
        .instances(addresses.map { Instance(address: $0) }.sorted())
    }

    @Test("survivors are reused; removed instances' closers are closed")
    func reuseAndClose() {
        let probe = FactoryProbe()
        let cache = EndpointCache(factory: probe.factory, logger: logger)
        cache.update(set("a:1", "b:1", "c:1"))
        cache.update(set("b:1", "c:1", "d:1"))
        #expect(probe.made.withLock { $0 } == ["a:1", "b:1", "c:1", "d:1"])
        #expect(probe.closed.withLock { $0 } == ["a:1"])
        #expect(cache.snapshot().addresses == ["b:1", "c:1", "d:1"])
        #expect(cache.snapshot().endpoints == ["endpoint(b:1)", "endpoint(c:1)", "endpoint(d:1)"])
        cache.close()
        #expect(Set(probe.closed.withLock { $0 }) == ["a:1", "b:1", "c:1", "d:1"])
        #expect(cache.snapshot().isEmpty)
    }

    @Test("the generation moves only when the endpoints change")
    func generation() {
        let cache = EndpointCache(factory: FactoryProbe().factory, logger: logger)
        cache.update(set("a:1"))
        let first = cache.generation
        cache.update(set("a:1"))
        #expect(cache.generation == first)
        cache.update(set("a:1", "b:1"))
        #expect(cache.generation > first)
    }

    @Test("unsorted input is handled")
    func unsortedInput() {
        let cache = EndpointCache(factory: FactoryProbe().factory, logger: logger)
        cache.update(
            .instances([Instance(address: "z:1"), Instance(address: "a:1"), Instance(address: "a:1")]))
        #expect(cache.snapshot().addresses == ["a:1", "z:1"])
    }

    @Test("a failed factory call is retried later and on the next set")
    func factoryRetry() {
        let probe = FactoryProbe()
        probe.failing.withLock { $0 = ["b:1"] }
        let cache = EndpointCache(factory: probe.factory, logger: logger)
        cache.update(set("a:1", "b:1"))
        #expect(cache.snapshot().addresses == ["a:1"])
        #expect(cache.pendingRetries == 1)
        cache.retryFailed()
        #expect(cache.snapshot().addresses == ["a:1"])
        probe.failing.withLock { $0 = [] }
        cache.retryFailed()
        #expect(cache.snapshot().addresses == ["a:1", "b:1"])
        #expect(cache.pendingRetries == 0)
        #expect(probe.made.withLock { $0 } == ["a:1", "b:1"])
    }

    @Test("invalidate-on-error is timed from the first error; a good set clears it")
    func invalidateOnError() {
        let probe = FactoryProbe()
        let cache = EndpointCache(factory: probe.factory, invalidateOnError: .seconds(1), logger: logger)
        let start = ContinuousClock.now
        cache.update(set("a:1"), now: start)
        let failure = DiscoveryError(.unavailable, "down")
        cache.update(.failure(failure), now: start)
        cache.update(.failure(failure), now: start + .milliseconds(900))  // must not restart the timer
        #expect(!cache.invalidateIfExpired(now: start + .milliseconds(999)))
        #expect(cache.snapshot().addresses == ["a:1"])
        #expect(cache.invalidateIfExpired(now: start + .seconds(1)))
        #expect(cache.snapshot().isEmpty)
        #expect(cache.snapshot().failure == failure)
        #expect(probe.closed.withLock { $0 } == ["a:1"])
        // A good set brings endpoints back and disarms the timer.
        cache.update(set("a:1"), now: start + .seconds(2))
        #expect(cache.snapshot().addresses == ["a:1"])
        #expect(cache.invalidationDeadline == nil)
        // A good set before the deadline cancels invalidation.
        cache.update(.failure(failure), now: start + .seconds(3))
        cache.update(set("a:1"), now: start + .milliseconds(3500))
        #expect(!cache.invalidateIfExpired(now: start + .seconds(10)))
        #expect(cache.snapshot().addresses == ["a:1"])
    }

    @Test("without invalidateOnError, failures keep the endpoints")
    func failuresKeepEndpoints() {
        let cache = EndpointCache(factory: FactoryProbe().factory, logger: logger)
        cache.update(set("a:1"))
        cache.update(.failure(DiscoveryError(.unavailable, "down")), now: .now)
        #expect(!cache.invalidateIfExpired(now: .now + .seconds(3600)))
        #expect(cache.snapshot().addresses == ["a:1"])
    }

    @Test("DefaultEndpointer: the first set is visible as soon as it is constructed")
    func firstSetWithoutRace() {
        for _ in 0..<100 {
            let instancer = FixedInstancer(addresses: ["a:1", "b:1"])
            let endpointer = DefaultEndpointer(
                instancer: instancer, factory: FactoryProbe().factory, logger: logger)
            #expect(endpointer.snapshot().addresses == ["a:1", "b:1"])
            endpointer.close()
        }
    }

    @Test("DefaultEndpointer follows changes and closes everything on close")
    func followsChanges() async throws {
        let probe = FactoryProbe()
        let instancer = InstanceCache()
        instancer.update([Instance(address: "a:1")])
        let endpointer = DefaultEndpointer(instancer: instancer, factory: probe.factory, logger: logger)
        instancer.update([Instance(address: "b:1")])
        try await eventually(.seconds(30), "b:1 only") { endpointer.snapshot().addresses == ["b:1"] }
        #expect(probe.closed.withLock { $0 } == ["a:1"])
        endpointer.close()
        endpointer.close()
        #expect(Set(probe.closed.withLock { $0 }) == ["a:1", "b:1"])
    }

    // The deadlines below are generous: under ThreadSanitizer, CPU-bound tests running in
    // parallel (balancer distributions) hold the cooperative pool for seconds, and a timer
    // waiting for a thread missed a 5 s deadline.
    @Test("DefaultEndpointer retries a failed factory call on its own")
    func retriesFactoryOnTimer() async throws {
        let probe = FactoryProbe()
        probe.failing.withLock { $0 = ["a:1"] }
        let instancer = FixedInstancer(addresses: ["a:1"])
        let endpointer = DefaultEndpointer(
            instancer: instancer, factory: probe.factory,
            retryBackoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(50)), logger: logger)
        #expect(endpointer.snapshot().isEmpty)
        probe.failing.withLock { $0 = [] }
        try await eventually(.seconds(30), "the retried endpoint") {
            endpointer.snapshot().addresses == ["a:1"]
        }
        endpointer.close()
    }

    @Test("DefaultEndpointer invalidates after the error has lasted invalidateOnError")
    func invalidatesOnTimer() async throws {
        let instancer = InstanceCache()
        instancer.update([Instance(address: "a:1")])
        let endpointer = DefaultEndpointer(
            instancer: instancer, factory: FactoryProbe().factory, invalidateOnError: .milliseconds(100),
            logger: logger)
        let failedAt = ContinuousClock.now
        instancer.fail(DiscoveryError(.unavailable, "down"))
        try await eventually(.seconds(30), "invalidation") { endpointer.snapshot().failure != nil }
        #expect(ContinuousClock.now - failedAt >= .milliseconds(100))
        instancer.update([Instance(address: "a:1")])
        try await eventually(.seconds(30), "recovery") { endpointer.snapshot().addresses == ["a:1"] }
        endpointer.close()
    }

    @Test("after invalidation, an empty good set replaces the failure in the snapshot")
    func emptySetAfterInvalidation() {
        let cache = EndpointCache(
            factory: FactoryProbe().factory, invalidateOnError: .seconds(1), logger: logger)
        let start = ContinuousClock.now
        cache.update(set(), now: start)
        let failure = DiscoveryError(.unavailable, "down")
        cache.update(.failure(failure), now: start)
        #expect(cache.invalidateIfExpired(now: start + .seconds(1)))
        #expect(cache.snapshot().failure == failure)
        let generation = cache.generation
        cache.update(set(), now: start + .seconds(2))
        #expect(cache.snapshot().failure == nil)
        #expect(cache.generation > generation)
    }
}
