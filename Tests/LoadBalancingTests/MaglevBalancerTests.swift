import Discovery
import Synchronization
import TestSupport
import Testing

@testable import LoadBalancing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Maglev consistent hashing")
struct MaglevBalancerTests {
    let keys = (0..<10_000).map { "user-\($0)" }

    func assignment(_ balancer: MaglevBalancer<EndpointCache<String>>) throws -> [String] {
        balancer.prepare()
        return try keys.map { try balancer.pick(key: $0) }
    }

    @Test("a key picks the same endpoint while the set is unchanged, in any balancer over it")
    func stable() async throws {
        let cache = addressEndpointer(numberedInstances(10))
        let (first, second, third) = try await offPoolAtLowPriority {
            (
                try assignment(MaglevBalancer(cache)), try assignment(MaglevBalancer(cache)),
                try assignment(MaglevBalancer(addressEndpointer(numberedInstances(10))))
            )
        }
        #expect(second == first)
        #expect(third == first)
    }

    @Test("one of N leaving (or one joining N) moves at most 1.3/N of 10,000 keys", arguments: [5, 10, 50])
    func minimalDisruption(count: Int) async throws {
        // Table builds and 50,000 picks: off the cooperative pool, for the timing tests beside.
        let result = try await offPoolAtLowPriority { try disruption(count: count) }
        #expect(Double(result.movedOnLeave) <= 1.3 / Double(count) * 10_000)
        // Every key of the one that left moved.
        #expect(!result.leaverStillPicked)
        // Back to the first set: the same table as before, so the same assignment.
        #expect(result.sameAfterReturn)
        #expect(Double(result.movedOnJoin) <= 1.3 / Double(count) * 10_000)
    }

    struct Disruption: Sendable {
        var movedOnLeave: Int
        var leaverStillPicked: Bool
        var sameAfterReturn: Bool
        var movedOnJoin: Int
    }

    func disruption(count: Int) throws -> Disruption {
        let cache = addressEndpointer(numberedInstances(count))
        let balancer = MaglevBalancer(cache)
        let before = try assignment(balancer)
        let leaving = "10.0.0.3:80"
        cache.update(.instances(numberedInstances(count).filter { $0.address != leaving }))
        let after = try assignment(balancer)
        cache.update(.instances(numberedInstances(count)))
        let returned = try assignment(balancer)
        cache.update(.instances(numberedInstances(count + 1)))
        let joined = try assignment(balancer)
        return Disruption(
            movedOnLeave: zip(before, after).count { $0 != $1 }, leaverStillPicked: after.contains(leaving),
            sameAfterReturn: returned == before, movedOnJoin: zip(before, joined).count { $0 != $1 })
    }

    @Test(
        "the most loaded endpoint holds at most 1.25x the mean of 10,000 keys; slots are even to within one")
    func balance() async throws {
        for count in [3, 10, 20] {
            // Off the cooperative pool: table builds and picks take a while under the sanitizers.
            let (load, slots) = try await offPoolAtLowPriority {
                let balancer = MaglevBalancer(addressEndpointer(numberedInstances(count)))
                var load: [String: Int] = [:]
                for endpoint in try assignment(balancer) { load[endpoint, default: 0] += 1 }
                let table = MaglevTable.build(
                    addresses: numberedInstances(count).map(\.address), preferences: [])
                var slots = [Int](repeating: 0, count: count)
                for entry in table { slots[Int(entry)] += 1 }
                return (load, slots)
            }
            #expect(load.count == count)
            #expect(Double(load.values.max()!) <= 1.25 * 10_000 / Double(count))
            #expect(slots.max()! - slots.min()! <= 1)
        }
    }

    @Test("weights give slots in proportion")
    func weighted() async throws {
        let instances = [
            Instance(address: "10.0.0.1:80", weight: 1), Instance(address: "10.0.0.2:80", weight: 2),
            Instance(address: "10.0.0.3:80", weight: 5),
        ]
        let table = try await offPoolAtLowPriority {
            MaglevTable.build(
                addresses: instances.map(\.address), preferences: instances.map(EndpointPreference.init))
        }
        var slots = [Int](repeating: 0, count: 3)
        for entry in table { slots[Int(entry)] += 1 }
        let size = Double(table.count)
        let shares: [Double] = slots.map { Double($0) / size }
        let expected: [Double] = [1.0 / 8, 2.0 / 8, 5.0 / 8]
        for index in 0..<3 {
            let error: Double = abs(shares[index] - expected[index])
            #expect(error < 0.002)
        }
    }

    @Test("avoiding the key's endpoint gives the next along the table, the same every time")
    func avoiding() throws {
        let balancer = MaglevBalancer(addressEndpointer(numberedInstances(5)))
        let hash = KeyHash.hash("user-7")
        let first = try balancer.pick(hash: hash)
        let next = try balancer.pick(hash: hash, avoiding: first)
        #expect(next.address != first)
        #expect(try balancer.keyed("user-7").pick(avoiding: first).address == next.address)
        #expect(try balancer.keyed("user-7").pick() == first)
    }

    @Test("after a change the new table is built off the pick path and picks move to it")
    func rebuildsInBackground() async throws {
        let cache = addressEndpointer(numberedInstances(4))
        let balancer = MaglevBalancer(cache)
        _ = try balancer.pick(key: "k")  // the first table, built at once
        cache.update(.instances(numberedInstances(4, from: 11)))
        func host(_ address: String) -> Int { Int(address.split(separator: ".")[3].prefix { $0 != ":" })! }
        let deadline = ContinuousClock.now + .seconds(20)
        var seen = try balancer.pick(key: "k")
        while host(seen) < 11, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
            seen = try balancer.pick(key: "k")
        }
        #expect((11..<15).contains(host(seen)))
    }

    @Test("KeyHash is stable across runs (fixed values)")
    func keyHashStable() {
        #expect(KeyHash.hash("") == KeyHash.finalize(0xCBF2_9CE4_8422_2325))
        #expect(KeyHash.hash("user-1") != KeyHash.hash("user-2"))
        #expect(KeyHash.hash("user-1") == KeyHash.hash("user-1"))
    }
}

@Suite("Shared tables under concurrency")
struct SharedTableConcurrencyTests {
    /// Runs `body` on `count` threads at once.
    func onThreads(_ count: Int, _ body: @escaping @Sendable () -> Void) {
        final class Context: @unchecked Sendable {
            let work: @Sendable () -> Void
            init(_ work: @escaping @Sendable () -> Void) { self.work = work }
        }
        var handles: [pthread_t] = []
        for _ in 0..<count {
            var handle = pthread_t()
            pthread_create(
                &handle, nil,
                { raw in
                    Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue().work()
                    return nil
                }, Unmanaged.passRetained(Context(body)).toOpaque())
            handles.append(handle)
        }
        for handle in handles { pthread_join(handle, nil) }
    }

    @Test("first picks from many threads at once, and picks across set changes, are safe and agree")
    func concurrentFirstPicks() async throws {
        // Off the cooperative pool: joining the threads blocks.
        let (answers, failures) = try await offPoolAtLowPriority { runConcurrentPicks() }
        #expect(answers == 1)
        #expect(failures == 0)
    }

    func runConcurrentPicks() -> (answers: Int, failures: Int) {
        let cache = addressEndpointer(numberedInstances(20))
        let maglev = MaglevBalancer(cache)
        let weighted = WeightedRoundRobinBalancer(cache)
        let answers = Mutex(Set<String>())
        let failures = Atomic<Int>(0)
        onThreads(8) {
            for round in 0..<2000 {
                do {
                    let picked = try maglev.pick(key: "user-7")
                    if round == 0 { answers.withLock { _ = $0.insert(picked) } }
                    _ = try weighted.pick()
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        // Now with the set changing underneath.
        onThreads(4) {
            for round in 0..<500 {
                if round % 100 == 0 { cache.update(.instances(numberedInstances(20 + round / 100))) }
                do {
                    _ = try maglev.pick(key: "user-\(round)")
                    _ = try weighted.pick(avoiding: "10.0.0.3:80")
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        return (answers.withLock { $0.count }, failures.load(ordering: .relaxed))
    }
}
