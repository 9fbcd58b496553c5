#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// How current an instancer's set is: when its backend last stood behind it, and whether it is
/// being kept through a failure.
///
/// A watch (etcd, ZooKeeper, Consul's blocking queries, Kubernetes, the file backend) confirms
/// its set for as long as no failure comes: every one of them turns a lost watch into a failure
/// within its deadline, so a set that is not stale is confirmed now, less the lag the backend
/// reported for its last answer. A poll (DNS SRV, Eureka) confirms its set at each answer. A
/// failure freezes ``confirmed`` (at the moment a watch was lost, at the last answer of a poll)
/// and makes the set stale until the backend answers again.
public struct InstanceFreshness: Sendable, Hashable {
    /// When the backend last stood behind the set: time since 1970-01-01T00:00:00Z.
    public var confirmed: Duration
    /// Whether a failure has come since: the set is the last good one, kept through an error.
    public var isStale: Bool

    public init(confirmed: Duration, isStale: Bool) {
        self.confirmed = confirmed
        self.isStale = isStale
    }

    /// How long ago the set was confirmed, as of `now` (time since the epoch); never negative.
    public func age(now: Duration = InstanceFreshness.now()) -> Duration {
        max(.zero, now - confirmed)
    }

    /// The system clock now, as time since 1970-01-01T00:00:00Z.
    public static func now() -> Duration {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return .seconds(spec.tv_sec) + .nanoseconds(spec.tv_nsec)
    }
}

extension InstanceCache {
    /// How a backend's answers confirm its set (``InstanceFreshness``).
    public enum Confirmation: Sendable, Hashable {
        /// A watch that turns its loss into a failure within a deadline: the set is confirmed
        /// for as long as no failure comes.
        case whileWatching
        /// A poll: the set is confirmed by each answer (``InstanceCache/update(_:lag:)`` or
        /// ``InstanceCache/confirm(lag:)``), and by nothing in between.
        case byAnswer
    }
}
