import Benchmark
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

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(maxDuration: .seconds(3))

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
            metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo, maxIterations: 20_000)
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
}
