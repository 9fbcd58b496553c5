/// Instances keyed by where each comes from (a file name, an etcd key), with the set kept
/// sorted as they change, as ``InstanceCache`` publishes it.
///
/// A change costs a binary search and one insertion or removal in the sorted array, not a
/// rebuild and sort of the whole set (docs/benchmarks.md has what that saves).
public struct KeyedInstances<Key: Hashable & Sendable>: Sendable {
    /// Every instance, sorted.
    public private(set) var sorted: [Instance] = []
    private var byKey: [Key: Instance] = [:]

    public init() {}

    /// The instances of `entries`, sorted once.
    public init(_ entries: [Key: Instance]) {
        byKey = entries
        sorted = entries.values.sorted()
    }

    public var count: Int { sorted.count }

    public subscript(key: Key) -> Instance? {
        byKey[key]
    }

    /// Puts `instance` at `key`, replacing what was there; `nil` removes the key.
    public mutating func set(_ instance: Instance?, for key: Key) {
        let old: Instance?
        if let instance {
            old = byKey.updateValue(instance, forKey: key)
        } else {
            old = byKey.removeValue(forKey: key)
        }
        if let old, old == instance { return }
        if let old {
            var index = sorted.partitioningIndex { !($0 < old) }
            while index < sorted.count, sorted[index] != old { index += 1 }
            if index < sorted.count { sorted.remove(at: index) }
        }
        if let instance {
            sorted.insert(instance, at: sorted.partitioningIndex { !($0 < instance) })
        }
    }
}

extension Array {
    /// The first index whose element satisfies `belongs`, for a predicate that is false and then
    /// true along the array (binary search).
    package func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
