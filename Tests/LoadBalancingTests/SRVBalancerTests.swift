import Discovery
import Logging
import Testing

@testable import LoadBalancing

/// The statistical checks use a fixed seed, so they are deterministic; the bound each states
/// (5 standard deviations of a binomial count) is what a correct balancer meets for any seed
/// but once in about 3.5 million.
@Suite("RFC 2782 balancer")
struct SRVBalancerTests {
    /// Picks per statistical check. Fewer under ThreadSanitizer, where a pick costs far more and
    /// these synchronous tests held both threads of the cooperative pool for 6 s (a Retry
    /// deadline test beside them overran); the 5-sigma bounds hold for any count.
    #if SDCTL_TSAN
        static let statisticalPicks = 10_000
    #else
        static let statisticalPicks = 100_000
    #endif

    /// An endpointer over instances whose endpoint is their address.
    func endpointer(_ instances: [Instance]) -> EndpointCache<String> {
        let cache = EndpointCache<String>(factory: { ($0.address, nil) }, logger: Logger(label: "test"))
        cache.update(.instances(instances.sorted()))
        return cache
    }

    func srv(_ address: String, priority: Int, weight: Int) -> Instance {
        Instance(address: address, weight: weight, priority: priority)
    }

    /// Counts picks by address.
    func counts(_ balancer: SRVBalancer<EndpointCache<String>>, picks: Int) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for _ in 0..<picks { counts[try balancer.pick(), default: 0] += 1 }
        return counts
    }

    /// `count` is within 5 standard deviations of `picks * probability`.
    func expectWithinBound(
        _ count: Int, picks: Int, probability: Double, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let expected = Double(picks) * probability
        let bound = 5 * (Double(picks) * probability * (1 - probability)).squareRoot()
        #expect(
            abs(Double(count) - expected) <= bound, "\(count) picks, expected \(expected) ± \(bound)",
            sourceLocation: sourceLocation)
    }

    @Test("a higher priority is never chosen while a lower one has endpoints; weights split the lower one")
    func priorityThenWeight() throws {
        let source = endpointer([
            srv("a:1", priority: 10, weight: 60), srv("b:1", priority: 10, weight: 20),
            srv("c:1", priority: 20, weight: 1000),
        ])
        let balancer = SRVBalancer(source, seed: 42)
        let picks = 200_000
        let counts = try counts(balancer, picks: picks)
        #expect(counts["c:1"] == nil)
        expectWithinBound(counts["a:1"] ?? 0, picks: picks, probability: 60.0 / 80)
        expectWithinBound(counts["b:1"] ?? 0, picks: picks, probability: 20.0 / 80)
    }

    @Test("when the lowest priority loses its endpoints, the next one is used")
    func nextPriority() throws {
        let source = endpointer([srv("a:1", priority: 1, weight: 5), srv("c:1", priority: 2, weight: 5)])
        let balancer = SRVBalancer(source, seed: 7)
        #expect(try counts(balancer, picks: 1000) == ["a:1": 1000])
        source.update(.instances([srv("c:1", priority: 2, weight: 5)]))
        #expect(try counts(balancer, picks: 1000) == ["c:1": 1000])
    }

    @Test("a priority change of a surviving instance takes effect")
    func preferenceChange() throws {
        let source = endpointer([srv("a:1", priority: 1, weight: 5), srv("b:1", priority: 2, weight: 5)])
        let balancer = SRVBalancer(source, seed: 7)
        #expect(try counts(balancer, picks: 100) == ["a:1": 100])
        source.update(.instances([srv("a:1", priority: 3, weight: 5), srv("b:1", priority: 2, weight: 5)]))
        #expect(try counts(balancer, picks: 100) == ["b:1": 100])
    }

    @Test("weight 0 is chosen rarely: the weight-0 endpoints share 1/(total+1)")
    func weightZero() throws {
        let source = endpointer([
            srv("a:1", priority: 1, weight: 0), srv("b:1", priority: 1, weight: 18),
            srv("z:1", priority: 1, weight: 0),
        ])
        let picks = Self.statisticalPicks
        let counts = try counts(SRVBalancer(source, seed: 3), picks: picks)
        expectWithinBound(counts["a:1"] ?? 0, picks: picks, probability: 1.0 / 38)
        expectWithinBound(counts["z:1"] ?? 0, picks: picks, probability: 1.0 / 38)
        expectWithinBound(counts["b:1"] ?? 0, picks: picks, probability: 18.0 / 19)
    }

    @Test("all weights 0 in a priority: uniform")
    func allZero() throws {
        let source = endpointer((0..<4).map { srv("h\($0):1", priority: 5, weight: 0) })
        let picks = Self.statisticalPicks
        let counts = try counts(SRVBalancer(source, seed: 11), picks: picks)
        #expect(counts.count == 4)
        for count in counts.values { expectWithinBound(count, picks: picks, probability: 0.25) }
    }

    @Test("instances without priority or weight are picked uniformly")
    func noPreferences() throws {
        let source = endpointer((0..<3).map { Instance(address: "h\($0):1") })
        let picks = 60_000
        let counts = try counts(SRVBalancer(source, seed: 5), picks: picks)
        for count in counts.values { expectWithinBound(count, picks: picks, probability: 1.0 / 3) }
    }

    @Test("avoiding an address stays in its priority by weight, and moves on only when it is alone there")
    func avoiding() throws {
        let source = endpointer([
            srv("a:1", priority: 1, weight: 30), srv("b:1", priority: 1, weight: 10),
            srv("c:1", priority: 1, weight: 0),
            srv("d:1", priority: 2, weight: 1),
        ])
        let balancer = SRVBalancer(source, seed: 9)
        var counts: [String: Int] = [:]
        let picks = Self.statisticalPicks
        for _ in 0..<picks { counts[try balancer.pick(avoiding: "a:1").address, default: 0] += 1 }
        #expect(counts["a:1"] == nil)
        #expect(counts["d:1"] == nil)
        // Without a: b (weight 10) and c (weight 0) share 11 outcomes.
        expectWithinBound(counts["c:1"] ?? 0, picks: picks, probability: 1.0 / 11)
        expectWithinBound(counts["b:1"] ?? 0, picks: picks, probability: 10.0 / 11)
        var others: [String: Int] = [:]
        for _ in 0..<picks { others[try balancer.pick(avoiding: "c:1").address, default: 0] += 1 }
        #expect(others["c:1"] == nil)
        expectWithinBound(others["a:1"] ?? 0, picks: picks, probability: 30.0 / 40)
        var avoidingB: [String: Int] = [:]
        for _ in 0..<picks { avoidingB[try balancer.pick(avoiding: "b:1").address, default: 0] += 1 }
        #expect(avoidingB["b:1"] == nil)
        expectWithinBound(avoidingB["a:1"] ?? 0, picks: picks, probability: 30.0 / 31)

        let lone = SRVBalancer(
            endpointer([srv("a:1", priority: 1, weight: 3), srv("d:1", priority: 2, weight: 1)]), seed: 1)
        #expect(try lone.pick(avoiding: "a:1").address == "d:1")
        let single = SRVBalancer(endpointer([srv("a:1", priority: 1, weight: 3)]), seed: 1)
        #expect(try single.pick(avoiding: "a:1").address == "a:1")
    }

    @Test("no endpoints is a noEndpoints error")
    func empty() {
        #expect(throws: DiscoveryError.self) { try SRVBalancer(endpointer([])).pick() }
    }
}
