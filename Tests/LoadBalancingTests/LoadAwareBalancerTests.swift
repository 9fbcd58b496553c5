import Discovery
import TestSupport
import Testing

@testable import LoadBalancing

/// Simulated runs with fixed seeds (``BalancerSimulation``): five endpoints of 10 ms mean
/// latency, one of them 50 ms, four requests at a time each, 1,000 requests a second. Round
/// robin sends the slow one a fifth of the requests (200/s against its capacity of 80/s), so
/// its queue grows; the load-aware balancers see it and send it less.
@Suite("Load-aware balancers")
struct LoadAwareBalancerTests {
    let simulation = BalancerSimulation.oneSlowOfFive(requests: 10_000, seed: 7)

    func run<B: Balancer>(_ make: (FixedEndpointer<Int>, BalancerClock) -> B) throws
        -> BalancerSimulation.Report
    where B.Endpoint == Int {
        let clock = BalancerClock.manual()
        return try simulation.run(make(simulation.endpointer, clock), clock: clock)
    }

    /// The three runs take seconds under the sanitizers: off the cooperative pool, where they
    /// held up the timing tests beside them.
    @Test("P2C and peak-EWMA send the slow endpoint fewer requests than round robin, and p99 is lower")
    func slowEndpoint() async throws {
        let (roundRobin, leastLoaded, peak) = try await offPoolAtLowPriority {
            (
                try run { source, _ in RoundRobinBalancer(source) },
                try run { source, _ in LeastLoadedBalancer(source, seed: 1) },
                try run { source, clock in PeakEWMABalancer(source, seed: 1, clock: clock) }
            )
        }
        let slow = 4
        // Round robin: a fifth, within a few requests.
        #expect(abs(roundRobin.requests[slow] - 2000) <= 5)
        for report in [leastLoaded, peak] {
            #expect(report.requests[slow] < roundRobin.requests[slow] / 2)
            #expect(report.latency(atQuantile: 0.99) < roundRobin.latency(atQuantile: 0.99) / 2)
            #expect(report.requests.reduce(0, +) == 10_000)
        }
    }

    @Test("an unmeasured endpoint starts at the penalty, not at zero")
    func unmeasuredPenalty() throws {
        let clock = BalancerClock.manual()
        let cache = addressEndpointer(numberedInstances(2))
        let balancer = PeakEWMABalancer(cache, unmeasuredLatency: .milliseconds(50), clock: clock)
        // Teach both endpoints a 1 ms latency, then a third joins.
        for _ in 0..<20 {
            clock.advance(by: .milliseconds(100))
            try balancer.lease().complete(.success, latency: .milliseconds(1))
        }
        cache.update(.instances(numberedInstances(3)))
        var counts: [String: Int] = [:]
        for _ in 0..<300 {
            let lease = try balancer.lease()
            counts[lease.endpoint, default: 0] += 1
            lease.complete(.success, latency: .milliseconds(1))
        }
        // With a zero start the newcomer would win every pair it is in (about 2/3 of picks).
        #expect(counts["10.0.0.3:80", default: 0] == 0)
    }

    @Test("peak-EWMA believes a peak at once and forgets it with time")
    func peakAndDecay() throws {
        var load = EndpointLoad(outstanding: 0, cost: 1_000_000, stamp: 0)
        LoadLedger.observe(&load, rtt: 9_000_000, now: 0, tau: 10e9)
        #expect(load.cost == 9_000_000)
        // One time constant later, a 1 ms answer pulls it most of the way down.
        LoadLedger.observe(&load, rtt: 1_000_000, now: 10_000_000_000, tau: 10e9)
        #expect(abs(load.cost - (9e6 * 0.36788 + 1e6 * 0.63212)) < 1_000)
        // Unheard from for five time constants, its cost has decayed to under 1 %.
        let cost = LoadLedger.peakCost(&load, now: 60_000_000_000, tau: 10e9)
        #expect(cost < 4_000_000 * 0.01)
    }

    @Test("pick(avoiding:) never returns the avoided endpoint when there is another")
    func avoiding() throws {
        let balancer = LeastLoadedBalancer(addressEndpointer(numberedInstances(3)))
        for _ in 0..<1000 {
            #expect(try balancer.pick(avoiding: "10.0.0.2:80").address != "10.0.0.2:80")
            let lease = try balancer.lease(avoiding: "10.0.0.1:80")
            let address = lease.address
            lease.complete(.success)
            #expect(address != "10.0.0.1:80")
        }
    }
}

@Suite("Two choices")
struct TwoChoicesTests {
    @Test("with nothing outstanding, the two candidates are uniform over the endpoints")
    func uniformCandidates() async throws {
        let balancer = LeastLoadedBalancer(FixedEndpointer(Array(0..<5)), seed: 9)
        let counts = try await offPoolAtLowPriority {
            var counts = [Int](repeating: 0, count: 5)
            for _ in 0..<20_000 {
                let lease = try balancer.lease()
                counts[lease.endpoint] += 1
                lease.complete(.success)
            }
            return counts
        }
        // 5 standard deviations of a binomial count at p = 1/5: 5 * sqrt(20000 * 0.16) = 283.
        for count in counts { #expect(abs(count - 4_000) < 283) }
    }
}
