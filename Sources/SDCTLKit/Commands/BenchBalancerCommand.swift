import Discovery
import LoadBalancing
import Synchronization

/// `sdctl bench balancer [--instances N] [--threads T] [--balancer NAME] [--picks N] [--requests N]`
///
/// Picks from a fixed endpointer whose endpoints are plain integers, so what is measured is
/// the balancer alone (go-kit's own benchmark uses a no-op endpoint the same way). The
/// instances are spread over three zones (zone-a, zone-b, zone-c; the zone balancer's caller
/// is in zone-a) without weights. Then each balancer runs in ``BalancerSimulation``'s mix of
/// latencies.
enum BenchBalancerCommand: Command {
    static let path = ["bench", "balancer"]
    static var spec: CommandSpec { CommandTable.benchBalancer }

    struct Measurement: Sendable {
        var balancer: BalancerChoice
        var threads: Int
        var nanosecondsPerPick: Double
        var nanosecondsPerLease: Double
        /// Largest deviation of one instance's share from the mean, in percent; nil for the zone
        /// balancer, which by design sends everything to its zone.
        var spreadPercent: Double?
    }

    struct SimulationResult: Sendable {
        var balancer: BalancerChoice
        var requests: [Int]
        var p50: Duration
        var p99: Duration
    }

    /// The latency a lease is completed with in the timed loop: any fixed value will do.
    static let leaseLatency: Duration = .microseconds(100)

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let instances = try context.integer("instances", default: 3)!
        let threads = try context.integer("threads", default: 2)!
        let picks = try context.integer("picks", default: 10_000_000, minimum: 1000)!
        let requests = try context.integer("requests", default: 20_000, minimum: 100)!
        guard threads <= 256 else { throw context.usage("--threads must be at most 256") }
        guard instances <= 1_000_000 else { throw context.usage("--instances must be at most 1000000") }
        guard requests <= 10_000_000 else { throw context.usage("--requests must be at most 10000000") }
        let choices = try BalancerChoice.parse("balancer", context).map { [$0] } ?? BalancerChoice.allCases
        let endpointer = FixedEndpointer(
            instances: (0..<instances).map {
                (
                    instance: Instance(
                        address: "10.\($0 / 65536).\($0 / 256 % 256).\($0 % 256):8080",
                        zone: "zone-\(["a", "b", "c"][$0 % 3])"),
                    endpoint: $0
                )
            })
        var results: [Measurement] = []
        for choice in choices {
            for threadCount in Set([1, threads]).sorted() {
                results.append(measure(choice, endpointer, instances, threadCount, picks))
            }
        }
        var simulations: [SimulationResult] = []
        let simulation = BalancerSimulation.oneSlowOfFive(requests: requests)
        for choice in choices {
            let clock = BalancerClock.manual()
            let balancer = choice.make(simulation.endpointer, localZone: "zone-a", clock: clock, seed: 1)
            do {
                let report = try simulation.run(balancer, clock: clock)
                simulations.append(
                    SimulationResult(
                        balancer: choice, requests: report.requests, p50: report.latency(atQuantile: 0.5),
                        p99: report.latency(atQuantile: 0.99)))
            } catch {
                throw CLIError(.failure, "simulation with \(choice.rawValue) failed: \(error.message)")
            }
        }
        report(results, simulations, simulation, instances: instances, context)
        return .success
    }

    /// The choice's balancer, measured with its concrete type, so that the timed loops run
    /// specialised code.
    static func measure(
        _ choice: BalancerChoice, _ endpointer: FixedEndpointer<Int>, _ instances: Int, _ threads: Int,
        _ picks: Int
    ) -> Measurement {
        choice.withBalancer(
            endpointer, localZone: "zone-a",
            Measuring(choice: choice, instances: instances, threads: threads, picks: picks))
    }

    private struct Measuring: BalancerVisitor {
        typealias Endpoint = Int
        let choice: BalancerChoice
        let instances: Int
        let threads: Int
        let picks: Int

        func visit<B: Balancer>(_ balancer: B) -> Measurement where B.Endpoint == Int {
            BenchBalancerCommand.measure(choice, balancer, instances, threads, picks)
        }
    }

    static func measure<B: Balancer>(
        _ choice: BalancerChoice, _ balancer: B, _ instances: Int, _ threads: Int, _ picks: Int
    ) -> Measurement where B.Endpoint == Int {
        let sink = Atomic<Int>(0)
        // Warm up, then time `picks` picks split over the threads (go test -bench's ns/op).
        pickLoop(balancer, count: min(picks, 1_000_000), sink: sink)
        let perThread = picks / threads
        var start = monotonicNanoseconds()
        runOnThreads(threads) { _ in pickLoop(balancer, count: perThread, sink: sink) }
        let pickTime = Double(monotonicNanoseconds() - start)
        leaseLoop(balancer, count: min(picks, 1_000_000), sink: sink)
        start = monotonicNanoseconds()
        runOnThreads(threads) { _ in leaseLoop(balancer, count: perThread, sink: sink) }
        let leaseTime = Double(monotonicNanoseconds() - start)
        // Spread, counted in a separate, untimed pass of leases completed at once (a pick without
        // a lease tells a load-aware balancer nothing, so it would keep choosing one endpoint).
        let counts = Mutex([Int](repeating: 0, count: instances))
        let sample = min(max(instances * 1000, 100_000), 20_000_000, picks) / threads
        runOnThreads(threads) { _ in
            var local = [Int](repeating: 0, count: instances)
            for _ in 0..<sample {
                guard let lease = try? balancer.lease(avoiding: nil) else { continue }
                local[lease.endpoint] += 1
                lease.complete(.success, latency: leaseLatency)
            }
            counts.withLock { total in for index in 0..<instances { total[index] += local[index] } }
        }
        let tally = counts.withLock { $0 }
        let mean = Double(tally.reduce(0, +)) / Double(instances)
        let worst = tally.map { abs(Double($0) - mean) / mean * 100 }.max() ?? 0
        let total = Double(perThread * threads)
        return Measurement(
            balancer: choice, threads: threads, nanosecondsPerPick: pickTime / total,
            nanosecondsPerLease: leaseTime / total, spreadPercent: choice == .zone ? nil : worst)
    }

    @inline(never)
    static func pickLoop<B: Balancer>(_ balancer: B, count: Int, sink: borrowing Atomic<Int>)
    where B.Endpoint == Int {
        var total = 0
        for _ in 0..<count {
            total &+= (try? balancer.pick()) ?? 0
        }
        sink.wrappingAdd(total, ordering: .relaxed)
    }

    /// A lease taken and completed per iteration: what a caller of a load-aware balancer pays.
    @inline(never)
    static func leaseLoop<B: Balancer>(_ balancer: B, count: Int, sink: borrowing Atomic<Int>)
    where B.Endpoint == Int {
        var total = 0
        for _ in 0..<count {
            guard let lease = try? balancer.lease(avoiding: nil) else { continue }
            total &+= lease.endpoint
            lease.complete(.success, latency: leaseLatency)
        }
        sink.wrappingAdd(total, ordering: .relaxed)
    }
}
