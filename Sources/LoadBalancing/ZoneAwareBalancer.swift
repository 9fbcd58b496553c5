import Discovery

/// Prefers instances in the caller's zone, and spills over to other zones in proportion when
/// the local zone has too few (Envoy's zone-aware routing rule).
///
/// With `u(z)` the share of the set's instances in zone `z` and `c(z)` the share of callers
/// there (`callerShares`; by default the callers are taken to be spread evenly over the
/// zones the set has):
/// - when `c(local) <= u(local)`, every pick goes to the local zone;
/// - otherwise a pick goes to the local zone with probability `u(local) / c(local)`, and the
///   rest spills to the zones with room to spare (`u(z) > c(z)`), in proportion to
///   `u(z) - c(z)`.
/// Within a zone, instances are picked uniformly at random. When the set has fewer than
/// `minimumInstances` (Envoy's `min_cluster_size`, 6) or none in the local zone, zones are
/// ignored and every instance is equally likely. Instances without a zone form a zone of
/// their own. Zones come from the instances (`Instance/zone`).
public struct ZoneAwareBalancer<Source: Endpointer>: Balancer {
    public typealias Endpoint = Source.Endpoint

    @usableFromInline let stripes: PickStripes<Source>
    @usableFromInline let rule: ZoneRule

    /// - Parameters:
    ///   - source: the endpointer to pick from.
    ///   - localZone: the caller's zone.
    ///   - callerShares: the share of callers in each zone (normalised to sum to 1); nil:
    ///     evenly over the zones the set has.
    ///   - minimumInstances: below this many instances, zones are ignored.
    ///   - seed: fixes the random numbers, for tests.
    public init(
        _ source: Source, localZone: String, callerShares: [String: Double]? = nil, minimumInstances: Int = 6,
        seed: UInt64? = nil
    ) {
        stripes = PickStripes(source: source, seed: seed)
        rule = ZoneRule(localZone: localZone, callerShares: callerShares, minimumInstances: minimumInstances)
    }

    @inlinable
    public func pick() throws(DiscoveryError) -> Endpoint {
        try stripes.withCurrentEndpoints { state, refreshed in
            if refreshed { state.plan = rule.plan(state.preferences, count: state.endpoints.count) }
            return state.endpoints[SRVBalancer<Source>.choose(in: 0, excluding: -1, state: &state)]
        }
    }

    @inlinable
    public func pick(avoiding address: String?) throws(DiscoveryError) -> (
        address: String, endpoint: Endpoint
    ) {
        try stripes.withCurrentEndpoints { state, refreshed in
            if refreshed { state.plan = rule.plan(state.preferences, count: state.endpoints.count) }
            let index = SRVBalancer<Source>.choose(avoiding: address, state: &state)
            return (state.addresses[index], state.endpoints[index])
        }
    }

    /// The probability of each instance being picked under the rule, by address: what
    /// `sdctl resolve --pick zone` shows.
    public func shares() throws(DiscoveryError) -> [(address: String, share: Double)] {
        let snapshot = stripes.source.snapshot()
        guard !snapshot.isEmpty else { throw PickStripes<Source>.noEndpoints(snapshot.failure) }
        let probabilities = rule.probabilities(snapshot.preferences, count: snapshot.count)
        return zip(snapshot.addresses, probabilities).map { ($0, $1) }
    }
}

/// Envoy's zone-aware rule, turned into a pick plan: the instances a pick may go to form
/// priority 0, weighted by their probability; the others priority 1 (reached only when
/// avoiding the only other choice).
@usableFromInline
struct ZoneRule: Sendable {
    let localZone: String
    let callerShares: [String: Double]?
    let minimumInstances: Int

    /// Integer weights out of 2^32 keep the probabilities exact to within one part in 4 billion.
    static let scale = Double(UInt32.max)

    @usableFromInline @inline(never)
    func plan(_ preferences: [EndpointPreference], count: Int) -> PickPlan {
        let weights = probabilities(preferences, count: count).map { UInt64(($0 * Self.scale).rounded()) }
        return PickPlan(
            count: count,
            preferences: weights.map { EndpointPreference(priority: $0 > 0 ? 0 : 1, weight: Int($0)) })
    }

    func probabilities(_ preferences: [EndpointPreference], count: Int) -> [Double] {
        let uniform = Array(repeating: 1 / Double(count), count: count)
        guard count >= minimumInstances, preferences.count == count else { return uniform }
        let zones = preferences.map { $0.zone ?? "" }
        var instances: [String: Int] = [:]
        for zone in zones { instances[zone, default: 0] += 1 }
        guard let local = instances[localZone] else { return uniform }
        let upstream = instances.mapValues { Double($0) / Double(count) }
        var callers: [String: Double]
        if let callerShares {
            let total = callerShares.values.filter { $0 > 0 }.reduce(0, +)
            callers = total > 0 ? callerShares.mapValues { max(0, $0) / total } : [:]
        } else {
            callers = upstream.mapValues { _ in 1 / Double(upstream.count) }
        }
        let callerLocal = callers[localZone] ?? 0
        let upstreamLocal = upstream[localZone]!
        var zoneShare: [String: Double] = [:]
        if callerLocal <= upstreamLocal {
            zoneShare[localZone] = 1
        } else {
            let localShare = upstreamLocal / callerLocal
            zoneShare[localZone] = localShare
            var residual: [String: Double] = [:]
            for (zone, share) in upstream where zone != localZone {
                let room = share - (callers[zone] ?? 0)
                if room > 0 { residual[zone] = room }
            }
            let total = residual.values.reduce(0, +)
            if total > 0 {
                for (zone, room) in residual { zoneShare[zone] = (1 - localShare) * room / total }
            } else {
                // No zone has room to spare (the caller shares name zones the set lacks):
                // spill by the instances' shares.
                let others = Double(count - local)
                for (zone, number) in instances where zone != localZone {
                    zoneShare[zone] = (1 - localShare) * Double(number) / others
                }
            }
        }
        return zones.map { zone in (zoneShare[zone] ?? 0) / Double(instances[zone]!) }
    }
}
