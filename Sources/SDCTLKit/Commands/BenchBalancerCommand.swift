import Discovery
import LoadBalancing
import Synchronization

/// `sdctl bench balancer [--instances N] [--threads T] [--balancer NAME] [--picks N]`
///
/// Picks from a fixed endpointer whose endpoints are plain integers, so what is measured is
/// the balancer alone (go-kit's own benchmark uses a no-op endpoint the same way).
enum BenchBalancerCommand {
    struct Measurement: Sendable {
        var balancer: String
        var threads: Int
        var nanosecondsPerPick: Double
        /// Largest deviation of one instance's share from the mean, in percent.
        var spreadPercent: Double
    }

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let instances = try context.integer("instances", default: 3)!
        let threads = try context.integer("threads", default: 2)!
        let picks = try context.integer("picks", default: 10_000_000, minimum: 1000)!
        guard threads <= 256 else { throw context.usage("--threads must be at most 256") }
        guard instances <= 1_000_000 else { throw context.usage("--instances must be at most 1000000") }
        let names: [String]
        switch context.invocation.value("balancer") {
        case nil: names = ["round-robin", "random", "srv"]
        case let name? where ["round-robin", "random", "srv"].contains(name): names = [name]
        case let other?: throw context.usage("--balancer takes round-robin, random or srv, not '\(other)'")
        }
        let endpointer = FixedEndpointer(
            addressed: (0..<instances).map {
                (address: "10.\($0 / 65536).\($0 / 256 % 256).\($0 % 256):8080", endpoint: $0)
            })
        var results: [Measurement] = []
        for name in names {
            for threadCount in Set([1, threads]).sorted() {
                let measurement: Measurement
                switch name {
                case "round-robin":
                    measurement = measure(name, RoundRobinBalancer(endpointer), instances, threadCount, picks)
                case "random":
                    measurement = measure(name, RandomBalancer(endpointer), instances, threadCount, picks)
                default:
                    measurement = measure(name, SRVBalancer(endpointer), instances, threadCount, picks)
                }
                results.append(measurement)
            }
        }
        report(results, instances: instances, context)
        return .success
    }

    static func measure<B: Balancer>(
        _ name: String, _ balancer: B, _ instances: Int, _ threads: Int, _ picks: Int
    )
        -> Measurement where B.Endpoint == Int
    {
        let sink = Atomic<Int>(0)
        // Warm up, then time `picks` picks split over the threads (go test -bench's ns/op).
        pickLoop(balancer, count: min(picks, 1_000_000), sink: sink)
        let perThread = picks / threads
        let start = monotonicNanoseconds()
        runOnThreads(threads) { _ in pickLoop(balancer, count: perThread, sink: sink) }
        let elapsed = Double(monotonicNanoseconds() - start)
        // Spread, counted in a separate, untimed pass.
        let counts = Mutex([Int](repeating: 0, count: instances))
        let sample = min(max(instances * 1000, 100_000), 20_000_000) / threads
        runOnThreads(threads) { _ in
            var local = [Int](repeating: 0, count: instances)
            for _ in 0..<sample { local[(try? balancer.pick()) ?? 0] += 1 }
            counts.withLock { total in for index in 0..<instances { total[index] += local[index] } }
        }
        let tally = counts.withLock { $0 }
        let mean = Double(tally.reduce(0, +)) / Double(instances)
        let worst = tally.map { abs(Double($0) - mean) / mean * 100 }.max() ?? 0
        return Measurement(
            balancer: name, threads: threads, nanosecondsPerPick: elapsed / Double(perThread * threads),
            spreadPercent: worst)
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

    static func report(_ results: [Measurement], instances: Int, _ context: CommandContext) {
        switch context.format {
        case .json:
            context.output.json(
                .array(
                    results.map {
                        .object([
                            ("balancer", .string($0.balancer)), ("threads", .int($0.threads)),
                            ("instances", .int(instances)),
                            ("ns_per_pick", .double(($0.nanosecondsPerPick * 100).rounded() / 100)),
                            ("picks_per_second", .int(Int(1e9 / $0.nanosecondsPerPick))),
                            ("spread_percent", .double(($0.spreadPercent * 100).rounded() / 100)),
                        ])
                    }))
        case .text:
            context.output.line("balancer      threads  ns/pick     picks/s  spread (worst instance vs mean)")
            for result in results {
                let ns = String(format2: result.nanosecondsPerPick)
                let rate = String(Int(1e9 / result.nanosecondsPerPick))
                context.output.line(
                    "\(result.balancer.padding(12))  \(String(result.threads).padding(7))  \(ns.padding(8))  "
                        + "\(rate.leftPadding(10))  \(String(format2: result.spreadPercent))%")
            }
            context.output.line(
                "(\(instances) instances; ns/pick is wall time over all picks, as go test -bench reports it)")
        }
    }
}

extension String {
    /// A number with two decimals, without Foundation's formatters.
    init(format2 value: Double) {
        let scaled = Int((value * 100).rounded())
        let fraction = abs(scaled % 100)
        self = "\(scaled / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    func leftPadding(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
