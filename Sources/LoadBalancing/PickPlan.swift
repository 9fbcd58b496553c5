import Discovery

/// The endpoints of a snapshot arranged for RFC 2782 selection: by priority, lowest first,
/// with each priority group's running weight sums.
///
/// Built once per stripe per snapshot (the cold path); a pick then reads it without
/// allocating.
@usableFromInline
struct PickPlan: Sendable {
    /// Endpoint indices: priority groups in ascending priority; within a group, weight-0
    /// endpoints first (RFC 2782), then by address.
    @usableFromInline var order: [Int] = []
    /// Running sums of the weights along ``order``, restarting at each group.
    @usableFromInline var runningWeights: [UInt64] = []
    /// The end (exclusive) of each group in ``order``.
    @usableFromInline var groupEnds: [Int] = []
    /// The end (exclusive) of each group's weight-0 endpoints, which open the group.
    @usableFromInline var zeroEnds: [Int] = []

    @usableFromInline init() {}

    /// The plan for `count` endpoints with `preferences` (empty: one group of weight 1 each).
    @usableFromInline @inline(never)
    init(count: Int, preferences: [EndpointPreference]) {
        let ranks =
            preferences.isEmpty
            ? Array(repeating: EndpointPreference(priority: 0, weight: 1), count: count) : preferences
        order = (0..<count).sorted { lhs, rhs in
            let left = ranks[lhs]
            let right = ranks[rhs]
            if left.priority != right.priority { return left.priority < right.priority }
            if (left.weight == 0) != (right.weight == 0) { return left.weight == 0 }
            return lhs < rhs
        }
        runningWeights.reserveCapacity(count)
        var sum: UInt64 = 0
        for (position, index) in order.enumerated() {
            if position > 0, ranks[order[position - 1]].priority != ranks[index].priority {
                groupEnds.append(position)
                if zeroEnds.count < groupEnds.count { zeroEnds.append(position) }
                sum = 0
            }
            let weight = ranks[index].weight
            if weight > 0, zeroEnds.count == groupEnds.count { zeroEnds.append(position) }
            sum += UInt64(weight)
            runningWeights.append(sum)
        }
        if count > 0 {
            groupEnds.append(count)
            if zeroEnds.count < groupEnds.count { zeroEnds.append(count) }
        }
    }
}
