import Benchmark
import Discovery
import EtcdDiscovery

#if canImport(Glibc)
    import Glibc
#endif

/// One etcd call at a time, the loops of `etcd-calls-go` with etcd's own Go client: Range of
/// one key, Put, Delete of a key that exists, and a watch event (Put, then the watcher of its
/// prefix has it). They need a member: `SDCTL_BENCH_ETCD=HOST:PORT` (`compare` starts one);
/// without it they are left out.
func etcdBenchmarks() {
    guard let setting = getenv("SDCTL_BENCH_ETCD").map({ String(cString: $0) }), !setting.isEmpty else {
        return
    }
    guard let endpoint = try? HostPort(parsing: setting) else {
        fatalError("SDCTL_BENCH_ETCD='\(setting)' is not HOST:PORT")
    }
    // A call's allocations vary a little with the server's answers (PINGs, window updates):
    // 10% for them, 2x for times, as for the others.
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(3), maxIterations: 5_000,
        thresholds: [
            .wallClock: .init(relative: [.p90: 100]),
            .mallocCountTotal: .init(relative: [.p90: 10]),
        ])
    let key = Array("/bench-swift/calls/key".utf8)
    let value = Array("127.0.0.1:8080".utf8)

    func client() throws -> EtcdClient {
        try EtcdClient(.init(endpoints: [endpoint]))
    }

    Benchmark("EtcdRange", configuration: configuration) { benchmark in
        let etcd = try client()
        defer { etcd.close() }
        try await etcd.put(key, value)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try await etcd.range(prefix: key))
        }
        benchmark.stopMeasurement()
    }

    Benchmark("EtcdPut", configuration: configuration) { benchmark in
        let etcd = try client()
        defer { etcd.close() }
        try await etcd.put(key, value)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try await etcd.put(key, value))
        }
        benchmark.stopMeasurement()
    }

    Benchmark("EtcdDelete", configuration: configuration) { benchmark in
        let etcd = try client()
        defer { etcd.close() }
        // Each deletes a key that exists, put before the clock starts.
        let keys = benchmark.scaledIterations.map { key + Array("-\($0)".utf8) }
        for key in keys { try await etcd.put(key, value) }
        benchmark.startMeasurement()
        for key in keys {
            blackHole(try await etcd.delete(key))
        }
        benchmark.stopMeasurement()
    }

    Benchmark("EtcdWatchEvent", configuration: configuration) { benchmark in
        let etcd = try client()
        defer { etcd.close() }
        let prefix = Array("/bench-swift/watch/".utf8)
        let (events, seen) = AsyncStream.makeStream(of: Void.self)
        let watch = Task {
            try await etcd.watch(prefix: prefix, startRevision: 0) { event in
                seen.yield()
                return true
            }
        }
        defer { watch.cancel() }
        var arrivals = events.makeAsyncIterator()
        _ = await arrivals.next()  // created
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try await etcd.put(prefix + Array("key".utf8), value)
            _ = await arrivals.next()
        }
        benchmark.stopMeasurement()
    }
}
