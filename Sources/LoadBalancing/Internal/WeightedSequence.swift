import Discovery

/// One cycle of smooth weighted round robin: each endpoint appears exactly weight times (the
/// weights divided by their greatest common divisor), spread evenly.
///
/// Earliest deadline first among the eligible, as WF2Q schedules packets: the k-th pick of an
/// endpoint of weight w is eligible from time k/w of the cycle and due at (k+1)/w; at each
/// step the earliest due eligible endpoint is taken, but not the one just taken when another is
/// eligible. If the cycle would then end on the endpoint it starts with, the last pick moves
/// to the latest place between two others. So no endpoint is picked twice in a row, across
/// cycles too, whenever none has more than half of the total weight (tested on random
/// weights). A cycle is at most ``maximumLength`` picks: beyond that the weights are scaled
/// down (each at least 1), and the ratio is approximate.
enum WeightedSequence {
    static let maximumLength = 1 << 16

    static func build(addresses: [String], preferences: [EndpointPreference]) -> [UInt32] {
        let count = addresses.count
        guard count > 0 else { return [] }
        var weights =
            preferences.isEmpty
            ? Array(repeating: UInt64(1), count: count) : preferences.map { UInt64($0.weight) }
        if weights.allSatisfy({ $0 == 0 }) { weights = Array(repeating: 1, count: count) }
        let divisor = weights.reduce(0) { gcd($0, $1) }
        weights = weights.map { $0 / divisor }
        var total = weights.reduce(0, +)
        if total > UInt64(maximumLength) {
            let scale = Double(maximumLength - count) / Double(total)
            weights = weights.map { $0 == 0 ? 0 : max(1, UInt64(Double($0) * scale)) }
            total = weights.reduce(0, +)
        }
        var taken = [UInt64](repeating: 0, count: count)
        // Not yet eligible, by start (taken/weight); eligible, by due ((taken+1)/weight).
        var waiting = Heap<Int> { (a: Int, b: Int) in
            let left = taken[a] * weights[b]
            let right = taken[b] * weights[a]
            return left != right ? left < right : a < b
        }
        var eligible = Heap<Int> { (a: Int, b: Int) in
            let left = (taken[a] + 1) * weights[b]
            let right = (taken[b] + 1) * weights[a]
            return left != right ? left < right : a < b
        }
        for index in 0..<count where weights[index] > 0 { waiting.push(index) }
        var sequence: [UInt32] = []
        sequence.reserveCapacity(Int(total))
        var last = -1
        for time in 0..<total {
            // Eligible once taken/weight <= time/total.
            while let first = waiting.top, taken[first] * total <= time * weights[first] {
                eligible.push(waiting.pop()!)
            }
            if eligible.top == nil { eligible.push(waiting.pop()!) }
            var chosen = eligible.pop()!
            if chosen == last, let other = eligible.pop() {
                eligible.push(chosen)
                chosen = other
            }
            sequence.append(UInt32(chosen))
            taken[chosen] += 1
            if taken[chosen] < weights[chosen] { waiting.push(chosen) }
            last = chosen
        }
        return repairWrap(sequence)
    }

    /// Moves the last pick to the latest place between two others when the cycle would end on
    /// the endpoint it starts with.
    static func repairWrap(_ sequence: [UInt32]) -> [UInt32] {
        guard sequence.count >= 3, sequence.last == sequence.first else { return sequence }
        let moved = sequence.last!
        var rest = Array(sequence.dropLast())
        // Inserting inside leaves `rest`'s own ends as the cycle's ends.
        guard rest.last != rest.first else { return sequence }
        var place = rest.count - 1
        while place > 0 {
            if rest[place - 1] != moved, rest[place] != moved {
                rest.insert(moved, at: place)
                return rest
            }
            place -= 1
        }
        return sequence
    }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
