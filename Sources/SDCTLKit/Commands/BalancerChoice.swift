import Discovery
import LoadBalancing

/// The balancers `sdctl resolve --pick` and `sdctl bench balancer` know, by their CLI names.
enum BalancerChoice: String, CaseIterable, Sendable {
    case roundRobin = "round-robin"
    case random
    case srv
    case leastLoaded = "least-loaded"
    case peakEWMA = "peak-ewma"
    case maglev
    case weightedRoundRobin = "weighted-round-robin"
    case zone

    static var names: [String] { allCases.map(\.rawValue) }

    /// "a, b or c", for usage errors.
    static var list: String {
        names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    /// Parses `--option NAME`, or nil when it is absent.
    static func parse(_ option: String, _ context: CommandContext) throws(CLIError) -> BalancerChoice? {
        guard let name = context.invocation.value(option) else { return nil }
        guard let choice = BalancerChoice(rawValue: name) else {
            throw context.usage("--\(option) takes \(list), not '\(name)'")
        }
        return choice
    }

    /// Whether the balancer counts outstanding requests through leases.
    var isLoadAware: Bool { self == .leastLoaded || self == .peakEWMA }

    /// This balancer over `source`; `localZone` serves the zone balancer.
    func make<Source: Endpointer>(
        _ source: Source, localZone: String, clock: BalancerClock = .shared, seed: UInt64? = nil
    ) -> any Balancer<Source.Endpoint> {
        switch self {
        case .roundRobin: return RoundRobinBalancer(source)
        case .random: return RandomBalancer(source)
        case .srv: return seed.map { SRVBalancer(source, seed: $0) } ?? SRVBalancer(source)
        case .leastLoaded:
            return seed.map { LeastLoadedBalancer(source, seed: $0) } ?? LeastLoadedBalancer(source)
        case .peakEWMA: return PeakEWMABalancer(source, seed: seed, clock: clock)
        case .maglev: return MaglevBalancer(source)
        case .weightedRoundRobin: return WeightedRoundRobinBalancer(source)
        case .zone: return ZoneAwareBalancer(source, localZone: localZone, seed: seed)
        }
    }
}
