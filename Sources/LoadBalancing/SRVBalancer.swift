import Discovery

/// Picks as RFC 2782 tells a client to pick among SRV records: from the lowest priority that
/// has endpoints, by weight within it.
///
/// Within a priority, an endpoint of weight `w` is chosen with probability `w/(total+1)` when
/// the priority has endpoints of weight 0, which share the remaining `1/(total+1)` ("a very
/// small chance", RFC 2782), and `w/total` when it has none; if every weight is 0 they are
/// chosen uniformly. The RFC's literal recipe (running sums, a number from 0 to the total
/// inclusive) gives the first endpoint in its list one outcome more than its weight, so
/// equal weights would not be equal; this keeps the weights exact (docs/dns.md). ``pick(avoiding:)`` moves to another endpoint of the
/// same priority, by weight, and only when the priority has no other, to the next priority.
///
/// Priority and weight come from the instances (`EndpointPreference`), so it works with any
/// instancer whose instances carry them; without them it is a uniform random balancer. Picks
/// allocate nothing; each pick stripe rebuilds its `PickPlan` when the endpoints change.
public struct SRVBalancer<Source: Endpointer>: Balancer {
    public typealias Endpoint = Source.Endpoint

    @usableFromInline let stripes: PickStripes<Source>

    public init(_ source: Source) {
        stripes = PickStripes(source: source)
    }

    /// Random numbers from `seed`, for tests that check the distribution.
    public init(_ source: Source, seed: UInt64) {
        stripes = PickStripes(source: source, seed: seed)
    }

    @inlinable
    public func pick() throws(DiscoveryError) -> Endpoint {
        let (stripe, refreshed) = try stripes.enter()
        defer { stripes.leave(stripe) }
        let state = stripes.state(stripe)
        if refreshed {
            state.pointee.plan = PickPlan(
                count: state.pointee.endpoints.count, preferences: state.pointee.preferences)
        }
        return state.pointee.endpoints[Self.choose(in: 0, excluding: -1, state: &state.pointee)]
    }

    @inlinable
    public func pick(avoiding address: String?) throws(DiscoveryError) -> (
        address: String, endpoint: Endpoint
    ) {
        try stripes.withCurrentEndpoints { state, refreshed in
            if refreshed {
                state.plan = PickPlan(count: state.endpoints.count, preferences: state.preferences)
            }
            let index = Self.choose(avoiding: address, state: &state)
            return (state.addresses[index], state.endpoints[index])
        }
    }

    /// An endpoint index by the plan, preferring one whose address is not `address`: another
    /// endpoint of the same priority by weight, and only when the priority has no other, the
    /// next priority.
    @inlinable @inline(__always)
    static func choose(avoiding address: String?, state: inout PickStripes<Source>.State) -> Int {
        var group = 0
        var excluded = -1
        if let address {
            // The avoided endpoint's position in the plan, if it is in the first group
            // that has anything else to offer.
            while group < state.plan.groupEnds.count {
                let start = group == 0 ? 0 : state.plan.groupEnds[group - 1]
                let end = state.plan.groupEnds[group]
                var found = -1
                for position in start..<end where state.addresses[state.plan.order[position]] == address {
                    found = position
                    break
                }
                if found < 0 { break }
                if end - start > 1 {
                    excluded = found
                    break
                }
                if group + 1 == state.plan.groupEnds.count { break }  // nothing else anywhere
                group += 1
            }
        }
        return choose(in: group, excluding: excluded, state: &state)
    }

    /// An endpoint index from priority group `group`, by weight, never the one at plan
    /// position `excluded` (-1: none).
    @inlinable @inline(__always)
    static func choose(in group: Int, excluding excluded: Int, state: inout PickStripes<Source>.State) -> Int
    {
        let plan = state.plan
        let start = group == 0 ? 0 : plan.groupEnds[group - 1]
        let zeroEnd = plan.zeroEnds[group]
        let end = plan.groupEnds[group]
        var total = plan.runningWeights[end - 1]
        var zeros = zeroEnd - start
        var excludedWeight: UInt64 = 0
        if excluded >= 0 {
            if excluded < zeroEnd {
                zeros -= 1
            } else {
                excludedWeight =
                    plan.runningWeights[excluded]
                    - (excluded > zeroEnd ? plan.runningWeights[excluded - 1] : 0)
                total -= excludedWeight
            }
        }
        // Uniform over the weight-0 endpoints (`below` of them, from `start`), skipping the
        // excluded one.
        func uniform(from first: Int, below count: Int, state: inout PickStripes<Source>.State) -> Int {
            var position = first + RandomBalancer<Source>.draw(&state.counter, below: count)
            if excluded >= 0, position >= excluded { position += 1 }
            return plan.order[position]
        }
        if total == 0 {
            // Every weight is 0: uniform.
            return uniform(from: start, below: end - start - (excluded >= 0 ? 1 : 0), state: &state)
        }
        let drawn = UInt64(
            RandomBalancer<Source>.draw(&state.counter, below: Int(total) + (zeros > 0 ? 1 : 0)))
        if drawn == total { return uniform(from: start, below: zeros, state: &state) }
        // The first positive-weight position whose running sum (less the excluded endpoint's
        // weight from it on) exceeds the number drawn.
        var low = zeroEnd
        var high = end - 1
        while low < high {
            let middle = (low + high) / 2
            var sum = plan.runningWeights[middle]
            if excludedWeight > 0, middle >= excluded { sum -= excludedWeight }
            if sum > drawn { high = middle } else { low = middle + 1 }
        }
        return plan.order[low]
    }
}
