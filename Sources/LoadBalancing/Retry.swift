import Discovery

/// Calls an endpoint from a ``Balancer`` until one attempt succeeds, the attempts run out, or
/// the overall deadline passes.
///
/// - Each attempt has a bound: the time left before the deadline, or the per-attempt timeout
///   when that is shorter. The body can read it as ``RetryContext/deadline`` (a task-local, the way a
///   Go endpoint reads its context's deadline) to bound its own I/O.
/// - Each attempt runs in a child task that is cancelled when its bound passes, so a body that
///   ignores ``RetryContext/deadline`` is still interrupted at the deadline (if it honours
///   cancellation; 50 ms after it, so a body that does honour it ends first with its own
///   error), with or without `attemptTimeout`: the deadline covers the whole call. That costs a
///   task group per attempt (docs/benchmarks.md has the figure).
/// - No attempt starts after the deadline, and waits for endpoints end at it.
/// - When the balancer has no endpoints, the call backs off and tries again until the
///   deadline rather than failing at once.
/// - The next attempt prefers an instance other than the one that just failed.
/// - Each attempt holds a ``Lease`` and completes it with its outcome (and, for balancers that
///   learn from latency, its duration), so load-aware balancers and outlier ejection see
///   every call; an attempt ended by cancellation is counted as neither.
/// - Cancelling the calling task ends the call with ``RetryError/Reason/cancelled``.
public struct Retry<Source: Balancer>: Sendable {
    public typealias Callback = @Sendable (_ attempt: Int, _ error: any Error & Sendable) -> RetryDecision

    public let balancer: Source
    public let maxAttempts: Int
    public let timeout: Duration
    public let attemptTimeout: Duration?
    public let noEndpointsBackoff: Backoff
    public let callback: Callback?

    /// - Parameters:
    ///   - balancer: picks the endpoint of each attempt.
    ///   - maxAttempts: at least 1.
    ///   - timeout: the overall deadline for the whole call, attempts and waits included.
    ///   - attemptTimeout: an optional bound on each single attempt.
    ///   - noEndpointsBackoff: the pauses while the balancer has no endpoints.
    ///   - callback: decides after each failure whether to go on, and may replace the error.
    public init(
        _ balancer: Source,
        maxAttempts: Int,
        timeout: Duration,
        attemptTimeout: Duration? = nil,
        noEndpointsBackoff: Backoff = Backoff(initial: .milliseconds(10), maximum: .seconds(1)),
        callback: Callback? = nil
    ) {
        precondition(maxAttempts >= 1, "maxAttempts must be at least 1")
        precondition(timeout > .zero, "timeout must be positive")
        self.balancer = balancer
        self.maxAttempts = maxAttempts
        self.timeout = timeout
        self.attemptTimeout = attemptTimeout
        self.noEndpointsBackoff = noEndpointsBackoff
        self.callback = callback
    }

    /// Runs `body` against picked endpoints until it succeeds.
    ///
    /// Inlinable so that it is specialized for the caller's balancer and response types: an
    /// unspecialized generic async call here cost more than everything else in a retry.
    @inlinable
    public func callAsFunction<Response: Sendable>(
        _ body: @escaping @Sendable (Source.Endpoint) async throws -> Response
    ) async throws(RetryError) -> Response {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + timeout
        var errors: [any Error & Sendable] = []
        var backoff = noEndpointsBackoff
        var previous: String?
        var attempt = 0
        var waited = false
        while attempt < maxAttempts {
            if Task.isCancelled { throw RetryError(reason: .cancelled, errors: errors) }
            // The first attempt reuses the start time: one clock read less on the common path.
            let now = attempt == 0 && !waited ? start : clock.now
            guard now < deadline else { throw RetryError(reason: .deadlineExceeded, errors: errors) }
            let lease: Lease<Source.Endpoint>
            do {
                lease = try balancer.lease(avoiding: previous)
            } catch {
                // Nothing to call yet: wait for discovery rather than burn an attempt.
                if errors.last.map({ ($0 as? DiscoveryError)?.code != .noEndpoints }) ?? true {
                    errors.append(error)
                }
                waited = true
                let pause = min(backoff.next(), deadline - now)
                do {
                    try await Task.sleep(until: now + pause, clock: clock)
                } catch {
                    throw RetryError(reason: .cancelled, errors: errors)
                }
                continue
            }
            attempt += 1
            backoff.reset()
            previous = lease.address
            let endpoint = lease.endpoint
            // Bounded even without `attemptTimeout`: run inline, a body that ignored the deadline
            // held the call for as long as it took (issue #23).
            let bound = attemptTimeout.map { min($0, deadline - now) } ?? deadline - now
            let outcome = await Self.attempt(body, endpoint, bound: bound, clock: clock)
            // The attempt started at `now`; the clock is read again only for balancers that
            // learn from latency.
            let latency = lease.measuresLatency ? clock.now - now : nil
            let failure: any Error & Sendable
            switch outcome {
            case .success(let response):
                lease.complete(.success, latency: latency)
                return response
            case .failure(let error):
                failure = error
            }
            if Task.isCancelled {
                // Not the endpoint's fault: the lease is dropped, counted as neither.
                _ = consume lease
                errors.append(failure)
                throw RetryError(reason: .cancelled, errors: errors)
            }
            lease.complete(.failure, latency: latency)
            guard let callback else {
                errors.append(failure)
                continue
            }
            let decision = callback(attempt, failure)
            errors.append(decision.replacement ?? failure)
            if !decision.keepTrying { throw RetryError(reason: .gaveUp, errors: errors) }
        }
        throw RetryError(reason: .attemptsExhausted, errors: errors)
    }

    /// One attempt in a child task, cancelled when `bound` runs out.
    ///
    /// A body that honours `RetryContext.deadline` ends at that deadline with its own outcome,
    /// which says more than "timed out": the timer therefore fires `timerGrace` later, so the
    /// body's own end comes first, and after a cancellation the body's outcome is still taken
    /// unless it is only the cancellation. The group waits for the cancelled body in any case, so
    /// asking for its outcome costs nothing.
    @usableFromInline
    static func attempt<Response: Sendable>(
        _ body: @escaping @Sendable (Source.Endpoint) async throws -> Response,
        _ endpoint: Source.Endpoint,
        bound: Duration,
        clock: ContinuousClock
    ) async -> Result<Response, any Error & Sendable> {
        let deadline = clock.now + bound
        return await withTaskGroup(of: Result<Response, any Error & Sendable>?.self) { group in
            group.addTask {
                do {
                    return .success(
                        try await RetryContext.$deadline.withValue(deadline) { try await body(endpoint) })
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                // nil either way: cancelled (the body ended first) or fired.
                try? await Task.sleep(until: deadline + timerGrace, clock: clock)
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            if let first { return first }
            // The timer fired and the body is cancelled: its own outcome, unless that is only the
            // cancellation. The timeout error is made here, not for every attempt.
            if let outcome = await group.next()!, !isCancellation(outcome) { return outcome }
            return .failure(DiscoveryError(.timedOut, "attempt timed out after \(bound)"))
        }
    }

    /// Whether an attempt's outcome is only its task's cancellation.
    @usableFromInline
    static func isCancellation<Response>(_ outcome: Result<Response, any Error & Sendable>) -> Bool {
        if case .failure(let error) = outcome { return error is CancellationError }
        return false
    }

    /// How long after an attempt's deadline its timer fires: long enough that a body's timer set
    /// for the deadline itself fires first, even with the scheduler's leeway, and short beside
    /// any timeout worth setting.
    @usableFromInline
    static var timerGrace: Duration { .milliseconds(50) }
}
