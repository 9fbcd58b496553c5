import Histogram

/// The latency distribution of `bench propagation`: percentile bars for a terminal, and
/// HdrHistogram's percentile distribution for `-o json`, to plot.
extension BenchPropagationCommand {
    /// The percentiles the bars show.
    static let barPercentiles: [(label: String, percentile: Double)] = [
        ("p50", 50), ("p75", 75), ("p90", 90), ("p95", 95), ("p99", 99), ("p99.9", 99.9), ("max", 100),
    ]

    /// One bar per percentile, as long as its latency against the maximum (40 columns).
    static func bars(_ histogram: Histogram<UInt64>, width: Int = 40) -> [String] {
        let maximum = max(histogram.max, 1)
        return barPercentiles.map { label, percentile in
            let value = percentile == 100 ? histogram.max : histogram.valueAtPercentile(percentile)
            let milliseconds = String(format2: Double(value) / 1000).leftPadding(9)
            return
                "  \(label.padding(6))\(milliseconds) ms  \(bar(Double(value) / Double(maximum) * Double(width)))"
        }
    }

    /// `length` columns of full blocks and one eighth-block for the rest; at least an eighth
    /// for any length above zero, so a short bar is never mistaken for a missing one.
    static func bar(_ length: Double) -> String {
        let eighths = length > 0 ? max(1, Int((length * 8).rounded())) : 0
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]
        return String(repeating: "█", count: eighths / 8) + partial
    }

    /// HdrHistogram's percentile distribution (five steps per half-distance to 100%, as its
    /// `outputPercentileDistribution` prints): each step's latency, the percentile reached and
    /// how many samples are at or below it.
    static func distribution(_ histogram: Histogram<UInt64>) -> JSONValue {
        var steps: [JSONValue] = []
        for step in histogram.percentiles(ticksPerHalfDistance: 5) {
            steps.append(
                .object([
                    ("value_ms", .double(Double(step.value) / 1000)),
                    ("percentile", .double(step.percentileLevelIteratedTo)),
                    ("total_count", .int(Int(step.totalCountToThisValue))),
                ]))
        }
        return .array(steps)
    }
}
