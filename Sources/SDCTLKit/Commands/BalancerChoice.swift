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

    /// Makes this balancer over `source` and hands it to `visitor` with its concrete type: the
    /// one place a choice becomes a balancer, so that `bench balancer` times specialised code.
    /// `localZone` serves the zone balancer.
    func withBalancer<Source: Endpointer, Visitor: BalancerVisitor>(
        _ source: Source, localZone: String, clock: BalancerClock = .shared, seed: UInt64? = nil,
        _ visitor: Visitor
    ) -> Visitor.Result where Visitor.Endpoint == Source.Endpoint {
        switch self {
        case .roundRobin: visitor.visit(RoundRobinBalancer(source))
        case .random: visitor.visit(RandomBalancer(source))
        case .srv: visitor.visit(seed.map { SRVBalancer(source, seed: $0) } ?? SRVBalancer(source))
        case .leastLoaded:
            visitor.visit(seed.map { LeastLoadedBalancer(source, seed: $0) } ?? LeastLoadedBalancer(source))
        case .peakEWMA: visitor.visit(PeakEWMABalancer(source, seed: seed, clock: clock))
        case .maglev: visitor.visit(MaglevBalancer(source))
        case .weightedRoundRobin: visitor.visit(WeightedRoundRobinBalancer(source))
        case .zone: visitor.visit(ZoneAwareBalancer(source, localZone: localZone, seed: seed))
        }
    }

    /// This balancer over `source`, as an existential.
    func make<Source: Endpointer>(
        _ source: Source, localZone: String, clock: BalancerClock = .shared, seed: UInt64? = nil
    ) -> any Balancer<Source.Endpoint> {
        withBalancer(source, localZone: localZone, clock: clock, seed: seed, Erased())
    }

    /// Whether it picks by key (a ``KeyedBalancer``): `--key` goes with it.
    var takesKey: Bool {
        withBalancer(FixedEndpointer<Int>([]), localZone: "", TakesKey())
    }

    private struct Erased<Endpoint: Sendable>: BalancerVisitor {
        func visit<B: Balancer>(_ balancer: B) -> any Balancer<Endpoint> where B.Endpoint == Endpoint {
            balancer
        }
    }

    private struct TakesKey: BalancerVisitor {
        typealias Endpoint = Int
        func visit<B: Balancer>(_ balancer: B) -> Bool where B.Endpoint == Int {
            balancer is any KeyedBalancer
        }
    }
}

/// What to do with the balancer a ``BalancerChoice`` makes, given its concrete type.
protocol BalancerVisitor<Endpoint> {
    associatedtype Endpoint: Sendable
    associatedtype Result
    func visit<B: Balancer>(_ balancer: B) -> Result where B.Endpoint == Endpoint
}
