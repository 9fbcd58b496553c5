/// What an ``Instancer`` publishes: the complete current set, or a failure.
///
/// Every event is a full state, never a delta, so a subscriber that missed events loses nothing
/// by reading only the latest one.
public enum InstancerEvent: Sendable, Hashable {
    /// The complete, current set of instances, sorted by address then id.
    case instances([Instance])
    /// The backend failed; the last good set stays what it was.
    case failure(DiscoveryError)

    /// The instances of an `.instances` event; `nil` for a failure.
    public var instances: [Instance]? {
        if case .instances(let set) = self { return set }
        return nil
    }

    /// The error of a `.failure` event; `nil` for a set.
    public var failure: DiscoveryError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
