import LoadBalancing

extension BenchBalancerCommand {
    static func report(
        _ results: [Measurement], _ simulations: [SimulationResult], _ simulation: BalancerSimulation,
        instances: Int, _ context: CommandContext
    ) {
        switch context.format {
        case .json:
            context.output.json(
                .object([
                    ("picks", .array(results.map { json($0, instances: instances) })),
                    ("simulation", json(simulations, simulation)),
                ]))
        case .text:
            context.output.line(
                "balancer              threads  ns/pick  ns/lease     picks/s  spread (worst instance vs mean)"
            )
            for result in results {
                let rate = String(Int(1e9 / result.nanosecondsPerPick))
                let spread = result.spreadPercent.map { "\(String(format2: $0))%" } ?? "n/a (one zone)"
                context.output.line(
                    "\(result.balancer.rawValue.padding(20))  \(String(result.threads).padding(7))  "
                        + "\(String(format2: result.nanosecondsPerPick).padding(7))  "
                        + "\(String(format2: result.nanosecondsPerLease).padding(8))  "
                        + "\(rate.leftPadding(10))  \(spread)")
            }
            context.output.line(
                "(\(instances) instances; ns/pick and ns/lease are wall time over all picks, as go test -bench reports it)"
            )
            context.output.line("")
            let endpoints = simulation.endpoints
            context.output.line(
                "simulated: \(endpoints.count) endpoints, \(endpoints.count - 1) of 10 ms mean latency and one of 50 ms "
                    + "(\(endpoints.last!.address)), 4 at a time each, 1000 requests/s, \(simulation.requests) requests"
            )
            context.output.line(
                "balancer              requests per endpoint (slow one last)   p50        p99")
            for result in simulations {
                let counts = result.requests.map { String($0).leftPadding(6) }.joined(separator: " ")
                context.output.line(
                    "\(result.balancer.rawValue.padding(20))  \(counts.padding(38))  "
                        + "\(milliseconds(result.p50).padding(9))  \(milliseconds(result.p99))")
            }
        }
    }

    static func milliseconds(_ duration: Duration) -> String {
        "\(String(format2: Double(duration.nanosecondsForReport) / 1e6)) ms"
    }

    static func json(_ result: Measurement, instances: Int) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("balancer", .string(result.balancer.rawValue)), ("threads", .int(result.threads)),
            ("instances", .int(instances)),
            ("ns_per_pick", .double((result.nanosecondsPerPick * 100).rounded() / 100)),
            ("ns_per_lease", .double((result.nanosecondsPerLease * 100).rounded() / 100)),
            ("picks_per_second", .int(Int(1e9 / result.nanosecondsPerPick))),
        ]
        if let spread = result.spreadPercent {
            fields.append(("spread_percent", .double((spread * 100).rounded() / 100)))
        }
        return .object(fields)
    }

    static func json(_ results: [SimulationResult], _ simulation: BalancerSimulation) -> JSONValue {
        .object([
            ("requests", .int(simulation.requests)),
            (
                "endpoints",
                .array(
                    simulation.endpoints.map {
                        .object([
                            ("address", .string($0.address)),
                            ("mean_latency_ms", .double(Double($0.meanLatency.nanosecondsForReport) / 1e6)),
                            ("concurrency", .int($0.concurrency)),
                        ])
                    })
            ),
            (
                "results",
                .array(
                    results.map {
                        .object([
                            ("balancer", .string($0.balancer.rawValue)),
                            ("requests_per_endpoint", .array($0.requests.map(JSONValue.int))),
                            ("p50_ms", .double((Double($0.p50.nanosecondsForReport) / 1e4).rounded() / 100)),
                            ("p99_ms", .double((Double($0.p99.nanosecondsForReport) / 1e4).rounded() / 100)),
                        ])
                    })
            ),
        ])
    }
}

extension Duration {
    /// Whole nanoseconds, for printing.
    var nanosecondsForReport: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
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
