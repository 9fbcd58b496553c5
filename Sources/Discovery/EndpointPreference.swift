/// What the balancers read from an endpoint's instance: its DNS SRV-style rank (lower
/// ``priority`` first, ``weight`` within a priority) and its ``zone``.
///
/// An instance without them has priority 0, weight 1 and no zone, so a set with none behaves
/// as one group of equals. The weight is the instance's own (Consul's `Weights.Passing`, an SRV
/// record's weight, a file entry's `weight`) or else a `weight` metadata entry holding a
/// decimal integer; the zone is the instance's own or else a `zone` metadata entry. Weights are
/// clamped to 0...UInt32.max.
public struct EndpointPreference: Sendable, Hashable {
    public var priority: Int
    public var weight: Int
    public var zone: String?

    public init(priority: Int, weight: Int, zone: String? = nil) {
        self.priority = priority
        self.weight = weight
        self.zone = zone
    }

    public init(_ instance: Instance) {
        let weight = instance.weight ?? instance.metadata["weight"].flatMap { Int($0) } ?? 1
        // Clamped so that a group's running sum cannot overflow, whatever a backend reports.
        self.init(
            priority: instance.priority ?? 0, weight: min(max(weight, 0), Int(UInt32.max)),
            zone: instance.zone)
    }
}
