import Discovery
import Logging
import Synchronization
import TestSupport
import Testing

@testable import LoadBalancing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Balancers")
struct BalancerTests {
    let fixed = FixedEndpointer(addressed: (0..<5).map { (address: "10.0.0.\($0):80", endpoint: $0) })

    @Test("round robin visits every endpoint once per cycle")
    func roundRobinCycles() throws {
        let balancer = RoundRobinBalancer(fixed)
        let first = try (0..<5).map { _ in try balancer.pick() }
        #expect(Set(first) == Set(0..<5))
        let second = try (0..<5).map { _ in try balancer.pick() }
        #expect(second == first)
    }

    @Test("round robin starts at a random offset")
    func roundRobinRandomStart() throws {
        let starts = try Set((0..<60).map { _ in try RoundRobinBalancer(fixed).pick() })
        #expect(starts.count >= 3)
    }

    @Test("random picks cover every endpoint about evenly")
    func randomCovers() throws {
        let balancer = RandomBalancer(fixed)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<50_000 { counts[try balancer.pick()] += 1 }
        for count in counts { #expect(abs(count - 10_000) < 1_000) }
    }

    @Test("no endpoints is an error, with the discovery failure when there is one")
    func noEndpoints() {
        let cache = EndpointCache<Int>(
            factory: { _ in (0, nil) }, invalidateOnError: .zero, logger: Logger(label: "t"))
        let balancer = RoundRobinBalancer(cache)
        #expect(throws: DiscoveryError.self) { try balancer.pick() }
        cache.update(.instances([Instance(address: "a:1")]))
        cache.update(.failure(DiscoveryError(.unavailable, "zk down")), now: .now)
        cache.invalidateIfExpired(now: .now + .seconds(1))
        do {
            _ = try RandomBalancer(cache).pick()
            Issue.record("expected no endpoints")
        } catch {
            #expect(error.code == .noEndpoints)
            #expect(error.message.contains("zk down"))
        }
    }

    @Test("balancers see endpoint updates")
    func followsUpdates() throws {
        let cache = EndpointCache<String>(factory: { ($0.address, nil) }, logger: Logger(label: "t"))
        cache.update(.instances([Instance(address: "a:1")]))
        let balancer = RoundRobinBalancer(cache)
        #expect(try balancer.pick() == "a:1")
        cache.update(.instances([Instance(address: "b:1")]))
        #expect(try balancer.pick() == "b:1")
        #expect(try balancer.pick() == "b:1")
    }

    @Test("pick(avoiding:) prefers another endpoint", arguments: [true, false])
    func avoiding(roundRobin: Bool) throws {
        let pairs = [(address: "a:1", endpoint: 0), (address: "b:1", endpoint: 1)]
        let source = FixedEndpointer(addressed: pairs)
        for _ in 0..<200 {
            let picked =
                roundRobin
                ? try RoundRobinBalancer(source).pick(avoiding: "a:1")
                : try RandomBalancer(source).pick(avoiding: "a:1")
            #expect(picked.address == "b:1")
        }
        let single = FixedEndpointer(addressed: [(address: "a:1", endpoint: 0)])
        #expect(try RoundRobinBalancer(single).pick(avoiding: "a:1").address == "a:1")
    }

    @Test("picks from many threads at once are safe and spread evenly")
    func concurrentPicks() throws {
        let balancer = RoundRobinBalancer(fixed)
        let counts = Mutex([Int](repeating: 0, count: 5))
        let threads = 8
        var handles: [pthread_t] = []
        final class Context: @unchecked Sendable {
            let work: @Sendable () -> Void
            init(_ work: @escaping @Sendable () -> Void) { self.work = work }
        }
        for _ in 0..<threads {
            var handle = pthread_t()
            let context = Context {
                var local = [Int](repeating: 0, count: 5)
                for _ in 0..<10_000 { local[(try? balancer.pick()) ?? 0] += 1 }
                counts.withLock { total in for index in 0..<5 { total[index] += local[index] } }
            }
            pthread_create(
                &handle, nil,
                { raw in
                    Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue().work()
                    return nil
                }, Unmanaged.passRetained(context).toOpaque())
            handles.append(handle)
        }
        for handle in handles { pthread_join(handle, nil) }
        let total = counts.withLock { $0 }
        #expect(total.reduce(0, +) == threads * 10_000)
        // Each thread walks its own cycle: every endpoint gets exactly a fifth.
        #expect(total.allSatisfy { $0 == threads * 2_000 })
    }
}

@Suite("Pick stripes")
struct PickStripesTests {
    @Test("every stripe starts on its own 128-byte block")
    func stripesAreAligned() {
        let fixed = FixedEndpointer(addressed: [(address: "10.0.0.1:80", endpoint: 1)])
        let stripes = PickStripes(source: fixed)
        let addresses = stripes.stripeAddresses
        #expect(addresses.count >= 4)
        for address in addresses { #expect(address % 128 == 0) }
        for (first, second) in zip(addresses, addresses.dropFirst()) { #expect(second - first >= 128) }
    }
}
