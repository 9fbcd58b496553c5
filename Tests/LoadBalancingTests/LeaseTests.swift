import Discovery
import Logging
import Testing

@testable import LoadBalancing

@Suite("Leases")
struct LeaseTests {
    let pair = FixedEndpointer(addressed: [
        (address: "10.0.0.1:80", endpoint: 0), (address: "10.0.0.2:80", endpoint: 1),
    ])

    /// Takes `count` leases and holds them; returns how many went to each of `endpoints`.
    func held<B: Balancer>(_ balancer: B, _ count: Int, endpoints: Int) throws -> (
        counts: [Int], leases: [Box]
    )
    where B.Endpoint == Int {
        var counts = [Int](repeating: 0, count: endpoints)
        var leases: [Box] = []
        for _ in 0..<count {
            let lease = try balancer.lease()
            counts[lease.endpoint] += 1
            leases.append(Box(lease))
        }
        return (counts, leases)
    }

    final class Box {
        var lease: Lease<Int>?
        init(_ lease: consuming Lease<Int>) { self.lease = consume lease }
    }

    @Test("least-loaded: held leases count, so two endpoints share them exactly")
    func outstandingCounts() throws {
        let (counts, _) = try held(LeastLoadedBalancer(pair), 100, endpoints: 2)
        #expect(counts == [50, 50])
    }

    @Test("a lease dropped without completion is counted as done")
    func droppedLease() throws {
        let balancer = LeastLoadedBalancer(pair)
        for _ in 0..<7 {
            let lease = try balancer.lease()
            _ = consume lease
        }
        // Had the seven leaked, one endpoint would start 7 ahead.
        let (counts, _) = try held(balancer, 100, endpoints: 2)
        #expect(counts == [50, 50])
    }

    @Test("completed leases free their endpoint; the outcome does not matter to the count")
    func completedLeases() throws {
        let balancer = LeastLoadedBalancer(pair)
        var (counts, leases) = try held(balancer, 10, endpoints: 2)
        #expect(counts == [5, 5])
        // Complete every lease held on endpoint 0 (5 stay on 1): the next 5 go to 0, and from
        // there the two stay within one of each other.
        for box in leases where box.lease?.endpoint == 0 { box.lease.take()!.complete(.failure) }
        leases.removeAll { $0.lease == nil }
        (counts, _) = try held(balancer, 11, endpoints: 2)
        #expect(counts[0] >= 8)
        #expect(counts[0] - (5 + counts[1]) == 0)
    }

    @Test("a lease that outlives its set reports to the same address in the new set")
    func leaseAcrossSetChange() throws {
        let cache = EndpointCache<Int>(
            factory: { (Int($0.address.split(separator: ".").last!.prefix(1))!, nil) },
            logger: Logger(label: "t"))
        cache.update(.instances([Instance(address: "10.0.0.1:80"), Instance(address: "10.0.0.2:80")]))
        let balancer = LeastLoadedBalancer(cache)
        var leases: [Box] = []
        for _ in 0..<4 { leases.append(Box(try balancer.lease())) }
        // 2 on each; the set changes (3 joins), then every lease completes.
        cache.update(
            .instances([
                Instance(address: "10.0.0.1:80"), Instance(address: "10.0.0.2:80"),
                Instance(address: "10.0.0.3:80"),
            ]))
        _ = try balancer.pick()  // the stripe moves to the new set
        #expect(outstanding(balancer.stripes) == ["10.0.0.1:80": 2, "10.0.0.2:80": 2, "10.0.0.3:80": 0])
        for box in leases { box.lease.take()!.complete(.success) }
        #expect(outstanding(balancer.stripes) == ["10.0.0.1:80": 0, "10.0.0.2:80": 0, "10.0.0.3:80": 0])
    }

    /// Outstanding requests by address, summed over the stripes that have load records.
    func outstanding<Source: Endpointer>(_ stripes: PickStripes<Source>) -> [String: Int] {
        var result: [String: Int] = [:]
        for index in 0...stripes.mask {
            let state = stripes.loadState(index).pointee
            for (address, position) in state.positions {
                result[address, default: 0] += state.loads[position].outstanding
            }
        }
        return result
    }

    @Test("leases still out when the balancer goes complete safely (the last frees the records)")
    func balancerGoneFirst() throws {
        var leases: [Box] = []
        do {
            let balancer = PeakEWMABalancer(pair, clock: .manual())
            for _ in 0..<6 { leases.append(Box(try balancer.lease())) }
        }
        for (index, box) in leases.enumerated() {
            if index % 2 == 0 {
                box.lease.take()!.complete(.success, latency: .milliseconds(1))
            } else {
                box.lease = nil
            }
        }
        #expect(leases.allSatisfy { $0.lease == nil })
    }

    @Test("balancers without load state hand out leases that report nowhere")
    func plainLease() throws {
        let lease = try RoundRobinBalancer(pair).lease()
        let measures = lease.measuresLatency
        let address = lease.address
        lease.complete(.success)
        #expect(!measures)
        #expect(["10.0.0.1:80", "10.0.0.2:80"].contains(address))
        let peak = try PeakEWMABalancer(pair, clock: .manual()).lease().measuresLatency
        #expect(peak)
    }

    @Test("Retry completes its leases: after calls that fail once and then succeed, nothing is outstanding")
    func retryCompletes() async throws {
        let balancer = LeastLoadedBalancer(pair)
        // The deadline is not what this test is about: generous for a loaded machine, where
        // each attempt's task group (#23) can wait seconds for a pool thread.
        let retry = Retry(balancer, maxAttempts: 3, timeout: .seconds(60))
        for call in 0..<20 {
            let failFirst = call % 2 == 0
            let attempts = Counter()
            _ = try await retry { endpoint in
                if failFirst, attempts.next() == 0 {
                    throw DiscoveryError(.unavailable, "first attempt fails")
                }
                return endpoint
            }
        }
        let (counts, _) = try held(balancer, 100, endpoints: 2)
        #expect(counts == [50, 50])
    }

    final class Counter: @unchecked Sendable {
        private var value = 0
        func next() -> Int {
            defer { value += 1 }
            return value
        }
    }
}
