import Discovery
import TestSupport
import Testing

@testable import LoadBalancing

@Suite("Smooth weighted round robin")
struct WeightedRoundRobinBalancerTests {
    func weighted(_ weights: [Int]) -> [Instance] {
        weights.enumerated().map { Instance(address: "10.0.0.\($0.offset + 1):80", weight: $0.element) }
    }

    @Test("each cycle gives the exact ratio, and the weights may come from metadata")
    func exactRatio() throws {
        let withWeights = weighted([5, 1, 2])
        let withMetadata = [5, 1, 2].enumerated().map {
            Instance(address: "10.0.0.\($0.offset + 1):80", metadata: ["weight": "\($0.element * 10)"])
        }
        for instances in [withWeights, withMetadata] {
            let balancer = WeightedRoundRobinBalancer(addressEndpointer(instances), seed: 0)
            for _ in 0..<3 {
                var counts: [String: Int] = [:]
                for _ in 0..<8 { counts[try balancer.pick(), default: 0] += 1 }
                #expect(counts == ["10.0.0.1:80": 5, "10.0.0.2:80": 1, "10.0.0.3:80": 2])
            }
        }
    }

    @Test(
        "never two in a row when no endpoint has more than half the weight (1,000 random sets, across cycles)"
    )
    func neverTwiceInARow() async throws {
        let failures = try await offPoolAtLowPriority { checkNeverTwiceInARow() }
        #expect(failures.isEmpty, "\(failures.prefix(3))")
    }

    /// The weight sets that broke a rule, with the rule.
    func checkNeverTwiceInARow() -> [String] {
        var failures: [String] = []
        var random = SimulationRandom(seed: 42)
        var checked = 0
        while checked < 1000 {
            let count = 2 + Int(random.next() % 6)
            let weights = (0..<count).map { _ in 1 + Int(random.next() % 9) }
            let total = weights.reduce(0, +)
            guard weights.max()! * 2 <= total else { continue }
            checked += 1
            let sequence = WeightedSequence.build(
                addresses: weighted(weights).map(\.address),
                preferences: weighted(weights).map(EndpointPreference.init))
            // One cycle: the weights divided by their greatest common divisor.
            let divisor = Int(weights.reduce(UInt64(0)) { WeightedSequence.gcd($0, UInt64($1)) })
            if sequence.count != total / divisor { failures.append("\(weights): cycle of \(sequence.count)") }
            for index in 0..<count
            where sequence.count(where: { $0 == UInt32(index) }) != weights[index] / divisor {
                failures.append("\(weights): endpoint \(index) not \(weights[index] / divisor) times")
            }
            if (0..<sequence.count).contains(where: { sequence[$0] == sequence[($0 + 1) % sequence.count] }) {
                failures.append("\(weights): twice in a row in \(sequence)")
            }
        }
        return failures
    }

    @Test("picks follow the sequence, without repeats, and avoiding skips to the next")
    func picksFollowSequence() throws {
        let balancer = WeightedRoundRobinBalancer(addressEndpointer(weighted([2, 1, 1])), seed: 0)
        let picks = try (0..<8).map { _ in try balancer.pick() }
        for index in 1..<picks.count { #expect(picks[index] != picks[index - 1]) }
        let next = try balancer.pick(avoiding: "10.0.0.1:80")
        #expect(next.address != "10.0.0.1:80")
    }

    @Test("without weights it is plain round robin")
    func unweighted() throws {
        let balancer = WeightedRoundRobinBalancer(addressEndpointer(numberedInstances(4)))
        let cycle = try (0..<4).map { _ in try balancer.pick() }
        #expect(Set(cycle).count == 4)
        #expect(try (0..<4).map { _ in try balancer.pick() } == cycle)
    }

    @Test("a cycle longer than 65,536 is scaled down, every endpoint still in it")
    func longCycle() {
        let weights = [100_000, 3, 65_000, 1]
        let sequence = WeightedSequence.build(
            addresses: weighted(weights).map(\.address),
            preferences: weighted(weights).map(EndpointPreference.init))
        #expect(sequence.count <= WeightedSequence.maximumLength)
        for index in 0..<4 { #expect(sequence.contains(UInt32(index))) }
    }
}
