import Discovery
import Testing

/// Contract 12: every set says when the backend last confirmed it and whether it is kept
/// through an error (issue #29).
@Suite("InstanceCache: freshness")
struct InstanceFreshnessTests {
    let set = [Instance(address: "10.0.0.1:80")]
    /// Comparisons of times taken on either side of an action allow this much slack.
    let slack: Duration = .seconds(5)

    @Test("none before the first set, and none for a failure before it")
    func noneBeforeTheFirstSet() {
        let cache = InstanceCache()
        #expect(cache.freshness == nil)
        cache.fail(DiscoveryError(.unavailable, "down"))
        #expect(cache.freshness == nil)
    }

    @Test("a watch confirms its set while no failure comes, freezes at the failure, clears at the next set")
    func watch() throws {
        let cache = InstanceCache()
        cache.update(set)
        let fresh = try #require(cache.freshness)
        #expect(!fresh.isStale)
        #expect(fresh.age() < slack)

        let beforeFailure = InstanceFreshness.now()
        cache.fail(DiscoveryError(.unavailable, "down"))
        let stale = try #require(cache.freshness)
        #expect(stale.isStale)
        #expect(stale.confirmed >= beforeFailure)
        // Frozen: a later failure does not move it.
        cache.fail(DiscoveryError(.unavailable, "still down"))
        #expect(cache.freshness == stale)

        // The same set again is news after a failure: subscribers learn that it is fresh.
        let subscription = cache.subscribe()
        #expect(subscription.poll()?.failure != nil)
        cache.update(set)
        #expect(subscription.poll() == .instances(set))
        #expect(cache.freshness?.isStale == false)
    }

    @Test("a poll is confirmed by each answer, repeats included, and by nothing in between")
    func poll() throws {
        let cache = InstanceCache(confirmation: .byAnswer)
        cache.update(set)
        let first = try #require(cache.freshness)
        let subscription = cache.subscribe()
        _ = subscription.poll()
        // Nothing in between: the confirmation does not move by itself.
        #expect(cache.freshness == first)
        cache.update(set)
        let repeated = try #require(cache.freshness)
        #expect(repeated.confirmed >= first.confirmed)
        #expect(subscription.poll() == nil, "a repeated set is not sent again")

        cache.fail(DiscoveryError(.unavailable, "down"))
        let stale = try #require(cache.freshness)
        #expect(stale.isStale)
        #expect(stale.confirmed == repeated.confirmed, "a poll's set stays confirmed at its last answer")
        _ = subscription.poll()
        // An unchanged answer after the failure sends the set again, fresh.
        cache.confirm()
        #expect(subscription.poll() == .instances(set))
        #expect(cache.freshness?.isStale == false)
    }

    @Test("the lag a backend reports for its answer is taken off the confirmation")
    func lag() throws {
        for cache in [InstanceCache(), InstanceCache(confirmation: .byAnswer)] {
            cache.update(set, lag: .seconds(30))
            let freshness = try #require(cache.freshness)
            #expect(freshness.age() >= .seconds(30))
            #expect(freshness.age() < .seconds(30) + slack)
            cache.fail(DiscoveryError(.unavailable, "down"))
            #expect(try #require(cache.freshness).age() >= .seconds(30))
        }
    }
}
