/// Exponential backoff with jitter, for retry and resubscribe loops.
///
/// Each ``next()`` doubles (by ``multiplier``) the base delay up to ``maximum`` and returns a
/// value drawn uniformly from `[base * (1 - jitter), base]`, so that many clients that failed
/// together do not retry together.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    /// The fraction of each delay that is randomized, from 0 (none) to 1 (full jitter).
    public var jitter: Double
    private var current: Duration?

    public init(
        initial: Duration = .milliseconds(100),
        maximum: Duration = .seconds(10),
        multiplier: Double = 2,
        jitter: Double = 0.5
    ) {
        precondition(initial > .zero && maximum >= initial && multiplier >= 1)
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay to wait before the next attempt.
    public mutating func next() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    /// The delay to wait before the next attempt, drawing jitter from `generator`.
    public mutating func next<G: RandomNumberGenerator>(using generator: inout G) -> Duration {
        let base: Duration
        if let current {
            let grown = current * multiplier
            base = grown > maximum ? maximum : grown
        } else {
            base = initial
        }
        current = base
        guard jitter > 0 else { return base }
        let fraction = 1 - jitter * Double.random(in: 0...1, using: &generator)
        return base * fraction
    }

    /// Starts again from ``initial`` after a success.
    public mutating func reset() {
        current = nil
    }
}
