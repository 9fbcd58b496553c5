import Discovery
import Testing

@testable import LoadBalancing

@Suite("Outlier ejection")
struct OutlierEjectionTests {
    func fail(
        _ balancer: OutlierEjectingBalancer<
            EndpointCache<String>, RoundRobinBalancer<OutlierEjection<EndpointCache<String>>>
        >, _ address: String, times: Int
    ) throws {
        var failed = 0
        var guardCount = 0
        while failed < times, guardCount < 10_000 {
            guardCount += 1
            let lease = try balancer.lease()
            if lease.endpoint == address {
                lease.complete(.failure)
                failed += 1
            } else {
                lease.complete(.success)
            }
        }
    }

    func make(_ count: Int, clock: BalancerClock, share: Double = 0.1) -> OutlierEjectingBalancer<
        EndpointCache<String>, RoundRobinBalancer<OutlierEjection<EndpointCache<String>>>
    > {
        OutlierEjectingBalancer(
            addressEndpointer(numberedInstances(count)),
            configuration: .init(
                consecutiveFailures: 3, baseInterval: .seconds(30), maximumEjectedShare: share),
            clock: clock
        ) { RoundRobinBalancer($0) }
    }

    @Test(
        "consecutive failures eject; the endpoint returns after the interval; the next ejection lasts longer")
    func ejectAndReturn() throws {
        let clock = BalancerClock.manual()
        let balancer = make(5, clock: clock)
        let bad = "10.0.0.2:80"
        try fail(balancer, bad, times: 3)
        #expect(balancer.ejection.ejected == [bad])
        for _ in 0..<100 { #expect(try balancer.pick() != bad) }
        clock.advance(by: .seconds(29))
        #expect(balancer.ejection.ejected == [bad])
        clock.advance(by: .seconds(1))
        #expect(balancer.ejection.ejected.isEmpty)
        #expect(try (0..<5).map { _ in try balancer.pick() }.contains(bad))
        // Ejected again at once: this time for 2 x 30 s.
        try fail(balancer, bad, times: 3)
        clock.advance(by: .seconds(59))
        #expect(balancer.ejection.ejected == [bad])
        clock.advance(by: .seconds(1))
        #expect(balancer.ejection.ejected.isEmpty)
    }

    @Test("a success between failures starts the count again")
    func successResets() throws {
        let clock = BalancerClock.manual()
        let ejection = OutlierEjection(
            addressEndpointer(numberedInstances(5)), configuration: .init(consecutiveFailures: 3),
            clock: clock)
        for _ in 0..<10 {
            ejection.observe(address: "10.0.0.1:80", outcome: .failure)
            ejection.observe(address: "10.0.0.1:80", outcome: .failure)
            ejection.observe(address: "10.0.0.1:80", outcome: .success)
        }
        #expect(ejection.ejected.isEmpty)
        for _ in 0..<3 { ejection.observe(address: "10.0.0.1:80", outcome: .failure) }
        #expect(ejection.ejected == ["10.0.0.1:80"])
    }

    @Test("never more than the share of the set is out, but one may always go")
    func cap() throws {
        let clock = BalancerClock.manual()
        let ejection = OutlierEjection(
            addressEndpointer(numberedInstances(10)),
            configuration: .init(consecutiveFailures: 1, maximumEjectedShare: 0.2), clock: clock)
        for host in 1...10 { ejection.observe(address: "10.0.0.\(host):80", outcome: .failure) }
        #expect(ejection.ejected.count == 2)
        #expect(ejection.snapshot().count == 8)
        let small = OutlierEjection(
            addressEndpointer(numberedInstances(3)), configuration: .init(consecutiveFailures: 1),
            clock: clock)
        for host in 1...3 { small.observe(address: "10.0.0.\(host):80", outcome: .failure) }
        #expect(small.ejected.count == 1)
        let single = OutlierEjection(
            addressEndpointer(numberedInstances(1)), configuration: .init(consecutiveFailures: 1),
            clock: clock)
        single.observe(address: "10.0.0.1:80", outcome: .failure)
        #expect(single.ejected.isEmpty)
    }

    @Test("an endpoint that left the set is forgotten: it holds no place under the cap, and no record")
    func departedAreForgotten() throws {
        // Issue #23: every address that ever failed stayed in the records for ever, and a
        // departed ejected one kept the only place under the cap, so a live failing endpoint
        // could not be ejected.
        let clock = BalancerClock.manual()
        let cache = addressEndpointer(numberedInstances(10))
        let ejection = OutlierEjection(
            cache, configuration: .init(consecutiveFailures: 1, maximumEjectedShare: 0.1), clock: clock)
        let leaver = "10.0.0.3:80"
        ejection.observe(address: leaver, outcome: .failure)
        #expect(ejection.ejected == [leaver])
        cache.update(.instances(numberedInstances(10).filter { $0.address != leaver }))
        #expect(ejection.ejected.isEmpty)
        ejection.observe(address: "10.0.0.5:80", outcome: .failure)
        #expect(ejection.ejected == ["10.0.0.5:80"])
        // A call to the departed endpoint that ends now counts for nothing.
        ejection.observe(address: leaver, outcome: .failure)
        #expect(ejection.recordCount == 1)
        // Many endpoints failing once, then all replaced: nothing of them is kept.
        for host in 1...10 {
            ejection.observe(address: numberedInstances(10)[host - 1].address, outcome: .failure)
        }
        cache.update(.instances(numberedInstances(10, from: 100)))
        _ = ejection.snapshot()
        #expect(ejection.recordCount == 0)
        #expect(ejection.ejected.isEmpty)
    }

    @Test("wrapping a load-aware balancer: Retry's failures eject, and its picks avoid the ejected")
    func withRetry() async throws {
        let clock = BalancerClock.manual()
        let balancer = OutlierEjectingBalancer(
            addressEndpointer(numberedInstances(5)), configuration: .init(consecutiveFailures: 2),
            clock: clock
        ) { LeastLoadedBalancer($0, seed: 3) }
        // The deadline is wall time, which this test is not about: CI once stalled one call
        // for over 10 s with every suite running on two cores.
        let retry = Retry(balancer, maxAttempts: 5, timeout: .seconds(120))
        let tried = Tally()
        for _ in 0..<50 {
            _ = try await retry { endpoint in
                tried.add(endpoint)
                if endpoint == "10.0.0.4:80" { throw DiscoveryError(.unavailable, "refused") }
                return endpoint
            }
        }
        // Tried twice (then ejected), and the others share the rest.
        #expect(tried.counts["10.0.0.4:80"] == 2)
        #expect(tried.counts.count == 5)
        #expect(balancer.ejection.ejected == ["10.0.0.4:80"])
    }

    final class Tally: @unchecked Sendable {
        var counts: [String: Int] = [:]
        func add(_ address: String) { counts[address, default: 0] += 1 }
    }
}
