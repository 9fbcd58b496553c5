import Discovery
import TestSupport
import Testing

@Suite("InstanceCache keeps the instancer contract")
struct InstanceCacheTests {
    func instances(_ addresses: String...) -> [Instance] { addresses.map { Instance(address: $0) } }

    @Test("a subscriber gets the current set first, sorted")
    func currentSetFirst() async throws {
        let cache = InstanceCache()
        cache.update(instances("10.0.0.2:80", "10.0.0.1:80"))
        let subscription = cache.subscribe()
        #expect(subscription.poll() == .instances(instances("10.0.0.1:80", "10.0.0.2:80")))
    }

    @Test("a subscriber before the first set waits for it")
    func waitsForFirstSet() async throws {
        let cache = InstanceCache()
        let subscription = cache.subscribe()
        #expect(subscription.poll() == nil)
        cache.update(instances("10.0.0.1:80"))
        try await subscription.set(["10.0.0.1:80"])
    }

    @Test("identical sets are not sent again; changes are")
    func identicalSetsDropped() async throws {
        let cache = InstanceCache()
        let subscription = cache.subscribe()
        cache.update(instances("a:1", "b:2"))
        #expect(subscription.poll() != nil)
        cache.update(instances("b:2", "a:1"))
        #expect(subscription.poll() == nil)
        cache.update(instances("a:1"))
        #expect(subscription.poll() == .instances(instances("a:1")))
    }

    @Test("errors are events, and the last good set stays available")
    func errorsAreEvents() async throws {
        let cache = InstanceCache()
        cache.update(instances("a:1"))
        let subscription = cache.subscribe()
        _ = subscription.poll()
        let failure = DiscoveryError(.unavailable, "down")
        cache.fail(failure)
        #expect(subscription.poll() == .failure(failure))
        #expect(cache.instances == instances("a:1"))
        // The same set after a failure is news: it says the failure is over.
        cache.update(instances("a:1"))
        #expect(subscription.poll() == .instances(instances("a:1")))
    }

    @Test("each subscriber gets its own copy; a slow one sees only the latest state")
    func slowSubscriberLatestWins() async throws {
        let cache = InstanceCache()
        let slow = cache.subscribe()
        let fast = cache.subscribe()
        var fastSeen = 0
        for index in 1...100 {
            cache.update([Instance(address: "10.0.0.\(index):80")])
            if fast.poll() != nil { fastSeen += 1 }
        }
        #expect(fastSeen == 100)
        #expect(slow.poll() == .instances([Instance(address: "10.0.0.100:80")]))
        #expect(slow.poll() == nil)
    }

    @Test("a blocked subscriber does not block publishing or other subscribers")
    func blockedSubscriberDoesNotBlock() async throws {
        let cache = InstanceCache()
        _ = cache.subscribe()  // never read
        let reader = cache.subscribe()
        for index in 1...10_000 { cache.update([Instance(address: "h:\(index % 60000 + 1)")]) }
        try await reader.set(["h:10001"])
    }

    @Test("stop is idempotent, ends subscriptions, and drops undelivered events")
    func stopEndsEverything() async throws {
        let cache = InstanceCache()
        let subscription = cache.subscribe()
        cache.update(instances("a:1"))
        cache.stop()
        cache.stop()
        var iterator = subscription.makeAsyncIterator()
        #expect(await iterator.next() == nil)
        cache.update(instances("b:1"))
        #expect(subscription.poll() == nil)
        var late = cache.subscribe().makeAsyncIterator()
        #expect(await late.next() == nil)
    }

    @Test("stop wakes a waiting subscriber with the end of the sequence")
    func stopWakesWaiter() async throws {
        let cache = InstanceCache()
        let subscription = cache.subscribe()
        let ended = Task { () -> Int in
            var count = 0
            for await _ in subscription { count += 1 }
            return count
        }
        cache.stop()
        let count = try await within(.seconds(5), "the subscription to end") { await ended.value }
        #expect(count == 0)
    }

    @Test("cancelling the consuming task ends the subscription")
    func cancellationEnds() async throws {
        let cache = InstanceCache()
        let subscription = cache.subscribe()
        let consumer = Task {
            for await _ in subscription {}
            return true
        }
        consumer.cancel()
        #expect(try await within(.seconds(5), "the consumer to end") { await consumer.value })
        cache.update(instances("a:1"))
        #expect(subscription.poll() == nil)
    }

    @Test("FixedInstancer publishes its set")
    func fixedInstancer() async throws {
        let instancer = FixedInstancer(addresses: ["b:1", "a:1"])
        try await instancer.subscribe().set(["a:1", "b:1"])
        instancer.stop()
    }

    @Test("a subscription dropped without cancel, or left by break, is forgotten")
    func abandonedSubscriptionsAreFreed() async throws {
        let cache = InstanceCache()
        cache.update(instances("a:1"))
        do {
            let subscription = cache.subscribe()
            #expect(subscription.poll() != nil)
            #expect(cache.subscriberCount == 1)
        }
        #expect(cache.subscriberCount == 0)
        for await event in cache.subscribe() {
            #expect(event.instances?.count == 1)
            break
        }
        #expect(cache.subscriberCount == 0)
        // A copy kept alive keeps the subscription.
        let kept = cache.subscribe()
        do {
            let copy = kept
            _ = copy.poll()
        }
        #expect(cache.subscriberCount == 1)
        kept.cancel()
        #expect(cache.subscriberCount == 0)
    }
}
