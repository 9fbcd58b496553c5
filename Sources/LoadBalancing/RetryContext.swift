/// What a ``Retry`` tells the attempt it is running.
public enum RetryContext {
    /// The bound of the attempt in progress (the overall deadline, or the per-attempt timeout
    /// when that comes first); `nil` outside a retry. Bodies that do I/O should stop by then,
    /// as a Go endpoint honours its context's deadline.
    @TaskLocal public static var deadline: ContinuousClock.Instant?
}
