import Discovery
import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import LoadBalancing

/// Every balancer picks in bounded time whatever the weights: weight 0 (common in SRV), all
/// weights 0, and a single endpoint, with and without an address to avoid. Maglev and weighted
/// round robin once spun for ever on `pick(avoiding:)` when every entry of their table was the
/// avoided endpoint (issue #23, item 1).
@Suite("Balancers with zero weights")
struct ZeroWeightTests {
    /// The weight sets tried: one weighted and one weight-0 endpoint, all zero, a single one.
    static let weightSets: [[Int]] = [[1, 0], [0, 1], [5, 0, 0], [0, 0], [0], [1], [3, 0, 2]]

    static func instances(_ weights: [Int]) -> [Instance] {
        weights.enumerated().map { Instance(address: "10.0.0.\($0.offset + 1):80", weight: $0.element) }
    }

    /// Every balancer over `source`, by name, as `pick(avoiding:)` and `lease(avoiding:)` calls.
    static func balancers(
        _ source: EndpointCache<String>
    ) -> [(String, @Sendable (String?) throws -> String)] {
        func calls<B: Balancer>(_ name: String, _ balancer: B) -> [(
            String, @Sendable (String?) throws -> String
        )]
        where B.Endpoint == String {
            nonisolated(unsafe) let balancer = balancer
            return [
                ("\(name).pick(avoiding:)", { try balancer.pick(avoiding: $0).address }),
                (
                    "\(name).lease(avoiding:)",
                    {
                        let lease = try balancer.lease(avoiding: $0)
                        let address = lease.address
                        lease.complete(.success)
                        return address
                    }
                ),
            ]
        }
        let maglev = MaglevBalancer(source)
        return calls("round-robin", RoundRobinBalancer(source)) + calls("random", RandomBalancer(source))
            + calls("srv", SRVBalancer(source)) + calls("least-loaded", LeastLoadedBalancer(source))
            + calls("peak-ewma", PeakEWMABalancer(source)) + calls("maglev", maglev)
            + calls("maglev keyed", maglev.keyed("k"))
            + calls("weighted-round-robin", WeightedRoundRobinBalancer(source))
            + calls("zone", ZoneAwareBalancer(source, localZone: "a"))
            + calls("outlier-ejecting maglev", OutlierEjectingBalancer(source) { MaglevBalancer($0) })
    }

    @Test("every balancer picks in bounded time, avoiding each address in turn", arguments: weightSets)
    func bounded(weights: [Int]) async throws {
        let source = addressEndpointer(Self.instances(weights))
        let addresses = Self.instances(weights).map(\.address)
        let weighted = Set(Self.instances(weights).filter { $0.weight != 0 }.map(\.address))
        for (name, pick) in Self.balancers(source) {
            for avoided in [nil] + addresses {
                // 200 picks each: a walk that can spin is met on the first or not at all.
                let picked = try await finishes(
                    within: .seconds(30), "\(name) avoiding \(avoided ?? "nothing")"
                ) {
                    try (0..<200).map { _ in try pick(avoided) }
                }
                let picks = try #require(picked, "\(name) avoiding \(avoided ?? "nothing") never returned")
                #expect(picks.allSatisfy(addresses.contains), "\(name): picked outside the set")
                // The avoided endpoint only when nothing else will do: for the table balancers,
                // when it is the only one with a weight.
                if let avoided, addresses.count > 1, name.hasPrefix("round-robin") || name.hasPrefix("random")
                {
                    #expect(!picks.contains(avoided), "\(name) picked \(avoided) it was told to avoid")
                }
                if let avoided, name.contains("maglev") || name.hasPrefix("weighted"),
                    weighted.count > 1 || (weighted.isEmpty && addresses.count > 1)
                {
                    #expect(!picks.contains(avoided), "\(name) picked \(avoided) though another had weight")
                }
            }
        }
    }

    @Test("Retry over Maglev with one weighted and one weight-0 instance ends when its only endpoint fails")
    func retryAfterTheOnlyWeightedFails() async throws {
        let source = addressEndpointer(Self.instances([1, 0]))
        let maglev = MaglevBalancer(source)
        let retry = Retry(maglev.keyed("k"), maxAttempts: 3, timeout: .seconds(30))
        // Off the cooperative pool: a pick that spins must not take a pool thread with it.
        let ended = try await finishes(within: .seconds(30), "Retry") { () -> RetryError? in
            // The 65,537-slot table is built here, at low priority, not on a pool thread.
            maglev.prepare()
            let done = DispatchSemaphore(value: 0)
            let outcome = Mutex<RetryError?>(nil)
            Task.detached {
                do {
                    _ = try await retry { (_: String) async throws -> Int in throw TestFailure() }
                } catch {
                    outcome.withLock { $0 = error as? RetryError }
                }
                done.signal()
            }
            done.wait()
            return outcome.withLock { $0 }
        }
        let finished = try #require(ended, "Retry never ended")
        let error = try #require(finished, "Retry succeeded against an endpoint that always fails")
        #expect(error.reason == .attemptsExhausted)
        #expect(error.errors.count == 3)
    }

    struct TestFailure: Error {}
}
