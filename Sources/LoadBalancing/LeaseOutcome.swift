/// How a call made through a ``Lease`` ended, as the balancer should count it.
public enum LeaseOutcome: Sendable, Hashable {
    /// The endpoint answered.
    case success
    /// The endpoint failed the call (an error, a timeout); outlier ejection counts these.
    case failure
}
