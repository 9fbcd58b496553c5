/// What a ``Retry`` callback decides after a failed attempt.
public struct RetryDecision: Sendable {
    /// Whether to make another attempt (attempt limit and deadline permitting).
    public var keepTrying: Bool
    /// An error to report instead of the attempt's own, if any.
    public var replacement: (any Error & Sendable)?

    public init(keepTrying: Bool, replacement: (any Error & Sendable)? = nil) {
        self.keepTrying = keepTrying
        self.replacement = replacement
    }

    /// Try again.
    public static let retry = RetryDecision(keepTrying: true)
    /// Give up now and report the attempt's error.
    public static let stop = RetryDecision(keepTrying: false)
}
