/// An endpoint's DNS SRV-style rank: lower ``priority`` first, ``weight`` within a priority.
///
/// Taken from the instance an endpoint was made for; an instance without them has priority 0
/// and weight 1, so a set with none behaves as one group of equals. Weights are clamped to
/// 0...UInt32.max.
public struct EndpointPreference: Sendable, Hashable {
    public var priority: Int
    public var weight: Int

    public init(priority: Int, weight: Int) {
        self.priority = priority
        self.weight = weight
    }

    public init(_ instance: Instance) {
        // Clamped so that a group's running sum cannot overflow, whatever a backend reports.
        self.init(
            priority: instance.priority ?? 0, weight: min(max(instance.weight ?? 1, 0), Int(UInt32.max)))
    }
}
