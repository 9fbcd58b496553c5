import Discovery

/// Maglev's lookup table (Eisenbud et al., NSDI 2016), with Envoy's weighting.
///
/// Each endpoint has a preference order over the table's slots (an offset and a skip from two
/// hashes of its address); endpoints take turns claiming their next free slot until the table
/// is full. A heavier endpoint takes a turn more often: one of weight w/max takes a turn in
/// every max/w rounds. Every endpoint ends up with its share of slots to within one, and when
/// an endpoint leaves, the slots of the others mostly stay where they were.
enum MaglevTable {
    /// Envoy's default, a prime: at least 256 slots per endpoint below 256 endpoints.
    static let defaultSize = 65537
    /// From this many endpoints on, the table is the smallest prime of at least 16 slots each.
    static let largeSet = 256

    /// The table size for `count` endpoints: the default up to ``largeSet`` endpoints, then the
    /// first prime from 16 per endpoint, which fills faster and still gives every endpoint its
    /// share to within 1/16 (docs/balancers.md says why).
    // Filling the table takes about M ln M probes whatever the count (2.7 ms for M = 65,537
    // here), and the share of keys that move when one endpoint leaves is close to 1/N only while
    // M/N is large: 1.22/N at 50 endpoints with the default size. At 1,000 endpoints it is about
    // 7/N with 65,537 slots and 7.6/N with 16,411 (a simulation of this construction), so large
    // sets take the smaller table, which fills in a quarter of the time.
    static func size(for count: Int) -> Int {
        guard count >= largeSet else { return defaultSize }
        var size = count * 16
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
        var table = [UInt32](repeating: 0, count: size)
        // Which slots are taken, one bit each: 8 KB that stays in the L1 cache, where probing
        // the 256 KB table itself missed it on most of the ~M ln M probes (4.3 ms against
        // 1 ms for 1,000 endpoints).
        var taken = [UInt64](repeating: 0, count: (size + 63) / 64)
        var filled = 0
        var round = 1.0
        while filled < size {
            for index in 0..<count where filled < size && weights[index] > 0 {
                if round * weights[index] < targets[index] { continue }
                targets[index] += heaviest
                var slot = next[index]
                let skip = skips[index]
                while taken[slot >> 6] & (1 << UInt64(slot & 63)) != 0 {
                    slot += skip
                    if slot >= size { slot -= size }
                }
                taken[slot >> 6] |= 1 << UInt64(slot & 63)
                table[slot] = UInt32(index)
                slot += skip
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
