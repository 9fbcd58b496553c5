import Discovery

/// Maglev's lookup table (Eisenbud et al., NSDI 2016), with Envoy's weighting.
///
/// Each endpoint has a preference order over the table's slots (an offset and a skip from two
/// hashes of its address); endpoints take turns claiming their next free slot until the table
/// is full. A heavier endpoint takes a turn more often: one of weight w/max takes a turn in
/// every max/w rounds. Every endpoint ends up with its share of slots to within one, and when
/// an endpoint leaves, the slots of the others mostly stay where they were.
enum MaglevTable {
    /// Envoy's default: a prime, and at least 100 slots per endpoint up to 655 endpoints.
    static let defaultSize = 65537

    /// The table size for `count` endpoints: the default, or a prime of at least 100 slots per
    /// endpoint beyond 655.
    static func size(for count: Int) -> Int {
        var size = max(defaultSize, count * 100)
        while !isPrime(size) { size += 1 }
        return size
    }

    static func build(addresses: [String], preferences: [EndpointPreference]) -> [UInt32] {
        let count = addresses.count
        guard count > 0 else { return [] }
        let size = size(for: count)
        var weights =
            preferences.isEmpty ? Array(repeating: 1.0, count: count) : preferences.map { Double($0.weight) }
        if weights.allSatisfy({ $0 == 0 }) { weights = Array(repeating: 1.0, count: count) }
        let heaviest = weights.max()!
        var offsets = [Int](repeating: 0, count: count)
        var skips = [Int](repeating: 0, count: count)
        for index in 0..<count {
            offsets[index] = Int(KeyHash.hash(addresses[index], seed: 0x6d61_676c) % UInt64(size))
            skips[index] = Int(KeyHash.hash(addresses[index], seed: 0x736b_6970) % UInt64(size - 1)) + 1
        }
        // `next[i]`: the slot endpoint i tries next (offset + j * skip, kept reduced).
        var next = offsets
        var targets = [Double](repeating: 0, count: count)
        let empty = UInt32.max
        var table = [UInt32](repeating: empty, count: size)
        var filled = 0
        var round = 1.0
        while filled < size {
            for index in 0..<count where filled < size && weights[index] > 0 {
                if round * weights[index] < targets[index] { continue }
                targets[index] += heaviest
                var slot = next[index]
                while table[slot] != empty {
                    slot += skips[index]
                    if slot >= size { slot -= size }
                }
                table[slot] = UInt32(index)
                slot += skips[index]
                if slot >= size { slot -= size }
                next[index] = slot
                filled += 1
            }
            round += 1
        }
        return table
    }

    static func isPrime(_ value: Int) -> Bool {
        if value < 2 { return false }
        var divisor = 2
        while divisor * divisor <= value {
            if value % divisor == 0 { return false }
            divisor += 1
        }
        return true
    }
}
