/// The state of one subscriber's mailbox: at most one undelivered event (the latest wins),
/// at most one waiting consumer, and a finished flag.
///
/// Methods mutate the state and return what to do; the caller does it after releasing the
/// lock, so no continuation is resumed while the lock is held.
struct SubscriptionStateMachine: Sendable {
    private enum State: Sendable {
        case idle(pending: InstancerEvent?, sequence: UInt64)
        case waiting(CheckedContinuation<InstancerEvent?, Never>, sequence: UInt64)
        case finished
    }

    enum OfferAction {
        case none
        case resume(CheckedContinuation<InstancerEvent?, Never>, InstancerEvent)
    }

    enum NextAction {
        case none
        case resume(CheckedContinuation<InstancerEvent?, Never>, InstancerEvent?)
    }

    enum FinishAction {
        case none
        case resume(CheckedContinuation<InstancerEvent?, Never>)
    }

    private var state: State = .idle(pending: nil, sequence: 0)

    var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Offers an event numbered `sequence`; an event older than one already offered is dropped,
    /// so concurrent publishers cannot leave a subscriber on a stale set.
    mutating func offer(_ event: InstancerEvent, sequence: UInt64) -> OfferAction {
        switch state {
        case .idle(_, let last):
            guard sequence > last else { return .none }
            state = .idle(pending: event, sequence: sequence)
            return .none
        case .waiting(let continuation, let last):
            guard sequence > last else { return .none }
            state = .idle(pending: nil, sequence: sequence)
            return .resume(continuation, event)
        case .finished:
            return .none
        }
    }

    /// Takes the pending event without waiting.
    mutating func poll() -> InstancerEvent? {
        guard case .idle(let pending?, let sequence) = state else { return nil }
        state = .idle(pending: nil, sequence: sequence)
        return pending
    }

    /// Called by a consumer with its continuation.
    mutating func next(_ continuation: CheckedContinuation<InstancerEvent?, Never>) -> NextAction {
        switch state {
        case .idle(let pending?, let sequence):
            state = .idle(pending: nil, sequence: sequence)
            return .resume(continuation, pending)
        case .idle(nil, let sequence):
            state = .waiting(continuation, sequence: sequence)
            return .none
        case .waiting:
            // A second concurrent consumer: iterators are single-consumer; end the newcomer.
            return .resume(continuation, nil)
        case .finished:
            return .resume(continuation, nil)
        }
    }

    /// Withdraws a waiting consumer without ending the subscription.
    mutating func withdrawWaiter() -> FinishAction {
        guard case .waiting(let continuation, let sequence) = state else { return .none }
        state = .idle(pending: nil, sequence: sequence)
        return .resume(continuation)
    }

    /// Ends the subscription, dropping anything undelivered.
    mutating func finish() -> FinishAction {
        switch state {
        case .waiting(let continuation, _):
            state = .finished
            return .resume(continuation)
        case .idle:
            state = .finished
            return .none
        case .finished:
            return .none
        }
    }
}
