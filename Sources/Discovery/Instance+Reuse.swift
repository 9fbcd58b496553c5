extension Instance {
    /// This instance, or the one of `set` (sorted, as ``InstanceCache`` holds it) that equals
    /// it, whose strings, tags and metadata are then shared rather than held twice.
    ///
    /// A backend that reads the whole set again on every change (Consul, Eureka) holds the
    /// last set and the new one while it compares them; made with this, the new set costs
    /// only what changed (docs/benchmarks.md, "Memory per 100,000 instances"). A binary
    /// search: O(log n), nothing allocated.
    package func reusing(_ set: [Instance]) -> Instance {
        var low = 0
        var high = set.count
        while low < high {
            let middle = (low + high) / 2
            if set[middle] < self { low = middle + 1 } else { high = middle }
        }
        // Equal addresses and ids sort together; metadata may still differ among them.
        while low < set.count, !(self < set[low]) {
            if set[low] == self { return set[low] }
            low += 1
        }
        return self
    }
}
