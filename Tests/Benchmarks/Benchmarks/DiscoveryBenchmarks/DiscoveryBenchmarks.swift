import Benchmark
import DNSDiscovery
import Discovery
import LoadBalancing
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// An endpoint as go-kit has it: a function value. The benchmarks pick a non-capturing one,
/// as go-kit's own benchmarks pick `endpoint.Nop`.
typealias Endpoint = @Sendable (Int) async throws -> Int

let nop: Endpoint = { $0 }

/// The same endpointer go-kit's benchmark builds: n fixed instances `10.0.x.y:8080`.
func endpointer(_ count: Int) -> FixedEndpointer<Endpoint> {
    FixedEndpointer(
        addressed: (0..<count).map { (address: "10.0.\($0 / 250).\($0 % 250):8080", endpoint: nop) })
}

/// Runs `body(index)` on `count` OS threads at once and waits for them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Work: @unchecked Sendable {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        var thread = pthread_t()
        let work = Work { body(index) }
        pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<Work>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, Unmanaged.passRetained(work).toOpaque())
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

/// The cache update go-kit's benchmark makes: n instances, then the same set with one instance
/// replaced, alternately. Sets arrive sorted, as every Instancer here publishes them.
func updates(_ count: Int) -> (InstancerEvent, InstancerEvent) {
    let a = (0..<count).map { Instance(address: "10.\($0 / 65536).\(($0 / 256) % 256).\($0 % 256):8080") }
    var b = a
    b[count / 2] = Instance(address: "192.168.0.1:9")
    return (.instances(a.sorted()), .instances(b.sorted()))
}

/// A reply to `_x._tcp.example.test SRV` with `records` answers, each owner a pointer to the
/// question and each target `instance-N` plus a pointer to `example.test`, and an OPT record.
func srvReply(records: Int) -> [UInt8] {
    var bytes: [UInt8] = [
        0x12, 0x34, 0x84, 0x00, 0, 1, UInt8(records >> 8), UInt8(records & 0xFF), 0, 0, 0, 1,
    ]
    for label in ["_x", "_tcp", "example", "test"] { bytes += [UInt8(label.utf8.count)] + Array(label.utf8) }
    bytes += [0, 0, 33, 0, 1]
    let exampleTest: UInt8 = 12 + 3 + 5  // where "example.test" starts
    for index in 0..<records {
        let label = Array("instance-\(index)".utf8)
        let target = [UInt8(label.count)] + label + [0xC0, exampleTest]
        bytes += [0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, UInt8(6 + target.count)]
        bytes += [0, 10, 0, 5, UInt8((8000 + index) >> 8), UInt8((8000 + index) & 0xFF)] + target
    }
    bytes += [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]
    return bytes
}

let benchmarks: @Sendable () -> Void = {
    // The tolerances `check` applies against Thresholds/ (p90s): allocations exactly, times
    // within 2x, since these machines are shared and a time read twice an hour apart can
    // differ by half.
    Benchmark.defaultConfiguration = .init(
        maxDuration: .seconds(3),
        thresholds: [
            .wallClock: .init(relative: [.p90: 100]),
            .mallocCountTotal: .init(absolute: [.p90: 0]),
        ])

    // Picks: setup outside the measurement, 1M picks a sample, reported per pick.
    let picks = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal], scalingFactor: .mega, maxIterations: 2000)

    Benchmark("RoundRobin3", configuration: picks) { benchmark in
        let balancer = RoundRobinBalancer(endpointer(3))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try balancer.pick()) }
    }

    Benchmark("RoundRobin1000", configuration: picks) { benchmark in
        let balancer = RoundRobinBalancer(endpointer(1000))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try balancer.pick()) }
    }

    // RFC 2782: two priorities, weights in the lower one.
    Benchmark("SRV3", configuration: picks) { benchmark in
        let cache = EndpointCache<Endpoint>(factory: { _ in (nop, nil) }, logger: Logger(label: "bench"))
        cache.update(
            .instances([
                Instance(address: "10.0.0.1:8080", weight: 60, priority: 10),
                Instance(address: "10.0.0.2:8080", weight: 20, priority: 10),
                Instance(address: "10.0.0.3:8080", weight: 100, priority: 20),
            ]))
        let balancer = SRVBalancer(cache)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try balancer.pick()) }
    }

    // Decoding a reply of 60 SRV records with compressed names, as Knot DNS sends them.
    Benchmark(
        "DNSDecode60",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo, maxIterations: 100_000)
    ) { benchmark in
        let reply = srvReply(records: 60)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try DNSMessage(decoding: reply)) }
    }

    // The balancers of #12. Load-aware ones are measured with the lease: taken and completed,
    // as a caller pays for each request.
    Benchmark("LeastLoaded3Lease", configuration: picks) { benchmark in
        let balancer = LeastLoadedBalancer(endpointer(3))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let lease = try balancer.lease()
            blackHole(lease.endpoint)
            lease.complete(.success, latency: .microseconds(100))
        }
    }

    Benchmark("PeakEWMA3Lease", configuration: picks) { benchmark in
        let balancer = PeakEWMABalancer(endpointer(3))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let lease = try balancer.lease()
            blackHole(lease.endpoint)
            lease.complete(.success, latency: .microseconds(100))
        }
    }

    Benchmark("Maglev3Key", configuration: picks) { benchmark in
        let balancer = MaglevBalancer(endpointer(3))
        balancer.prepare()
        var hash: UInt64 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            hash &+= 0x9E37_79B9_7F4A_7C15
            blackHole(try balancer.pick(hash: hash))
        }
    }

    Benchmark("WeightedRoundRobin3", configuration: picks) { benchmark in
        let cache = EndpointCache<Endpoint>(factory: { _ in (nop, nil) }, logger: Logger(label: "bench"))
        cache.update(
            .instances([
                Instance(address: "10.0.0.1:8080", weight: 5), Instance(address: "10.0.0.2:8080", weight: 2),
                Instance(address: "10.0.0.3:8080", weight: 1),
            ]))
        let balancer = WeightedRoundRobinBalancer(cache)
        balancer.prepare()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try balancer.pick()) }
    }

    Benchmark("ZoneAware9", configuration: picks) { benchmark in
        let cache = EndpointCache<Endpoint>(factory: { _ in (nop, nil) }, logger: Logger(label: "bench"))
        cache.update(
            .instances(
                (0..<9).map { Instance(address: "10.0.0.\($0):8080", zone: ["a", "b", "b", "c"][$0 % 4]) }
                    .sorted()))
        let balancer = ZoneAwareBalancer(cache, localZone: "a")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try balancer.pick()) }
    }

    Benchmark(
        "LeastLoadedParallel2Lease",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal], scalingFactor: .mega, maxIterations: 2000)
    ) { benchmark in
        let balancer = LeastLoadedBalancer(endpointer(3))
        benchmark.startMeasurement()
        onThreads(2) { _ in
            for _ in 0..<500_000 {
                guard let lease = try? balancer.lease() else { continue }
                blackHole(lease.endpoint)
                lease.complete(.success)
            }
        }
        benchmark.stopMeasurement()
    }

    // Rebuilding Maglev's table (65,537 slots) for 1,000 endpoints, as after a change: the
    // set and the balancer are made before the clock starts, so only the build is timed.
    Benchmark(
        "MaglevRebuild1000",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 1000)
    ) { benchmark in
        let instances = (0..<1000).map { Instance(address: "10.0.\($0 / 250).\($0 % 250):8080") }
        let cache = EndpointCache<Endpoint>(factory: { _ in (nop, nil) }, logger: Logger(label: "bench"))
        cache.update(.instances(instances.sorted()))
        let balancer = MaglevBalancer(cache)
        benchmark.startMeasurement()
        balancer.prepare()
        benchmark.stopMeasurement()
        blackHole(balancer)
    }

    Benchmark("Random3", configuration: picks) { benchmark in
        let balancer = RandomBalancer(endpointer(3))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try balancer.pick()) }
    }

    // go test's RunParallel reports wall time over all picks of all goroutines; this does the
    // same with 2 threads and 1M picks per iteration, reported per pick.
    Benchmark(
        "RoundRobinParallel2",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal], scalingFactor: .mega, maxIterations: 2000)
    ) { benchmark in
        let balancer = RoundRobinBalancer(endpointer(3))
        benchmark.startMeasurement()
        onThreads(2) { _ in
            for _ in 0..<500_000 { blackHole(try? balancer.pick()) }
        }
        benchmark.stopMeasurement()
    }

    Benchmark(
        "RetryCall",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo, maxIterations: 20_000)
    ) { benchmark in
        let retry = Retry(RoundRobinBalancer(endpointer(3)), maxAttempts: 3, timeout: .seconds(1))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try await retry { endpoint in try await endpoint(1) })
        }
    }

    // The same call with attempts raced against a per-attempt timeout (a task group each).
    Benchmark(
        "RetryCallAttemptTimeout",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo, maxIterations: 20_000,
            // A task group per attempt: its allocations vary by one in twenty from run to run.
            thresholds: [
                .wallClock: .init(relative: [.p90: 100]),
                .mallocCountTotal: .init(relative: [.p90: 10]),
            ])
    ) { benchmark in
        let retry = Retry(
            RoundRobinBalancer(endpointer(3)), maxAttempts: 3, timeout: .seconds(1),
            attemptTimeout: .seconds(1))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try await retry { endpoint in try await endpoint(1) })
        }
    }

    for count in [100, 10_000] {
        Benchmark(
            "Update\(count == 100 ? "100" : "10k")",
            configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 100_000)
        ) { benchmark in
            let cache = EndpointCache<Endpoint>(factory: { _ in (nop, nil) }, logger: Logger(label: "bench"))
            let (a, b) = updates(count)
            cache.update(a)
            var flip = false
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                flip.toggle()
                cache.update(flip ? b : a)
            }
            benchmark.stopMeasurement()
        }
    }

    etcdBenchmarks()
}
