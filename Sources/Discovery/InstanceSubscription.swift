import Synchronization

/// A subscription to an ``Instancer``: an asynchronous sequence of full-state events.
///
/// The first element is the instancer's current state. A consumer that falls behind sees only
/// the latest state, never a backlog. The sequence ends when the subscription is cancelled,
/// when the consuming task is cancelled, or when the instancer stops; after that no event is
/// delivered, not even one that was waiting. A subscription that is simply dropped (every copy
/// of it and of its iterators gone, as after `break` out of a `for await`) ends too, so the
/// instancer forgets it.
public struct InstanceSubscription: AsyncSequence, Sendable {
    public typealias Element = InstancerEvent

    let mailbox: Mailbox
    /// Shared by every copy of this subscription and its iterators; ends the mailbox when the
    /// last of them goes.
    private let lifetime: Lifetime

    init(mailbox: Mailbox) {
        self.mailbox = mailbox
        self.lifetime = Lifetime(mailbox)
    }

    /// Ends this subscription. Idempotent.
    public func cancel() {
        mailbox.finish()
    }

    /// Takes the event waiting to be delivered, if there is one, without suspending.
    ///
    /// Right after ``Instancer/subscribe()`` this is the instancer's current state, which lets
    /// an owner apply it synchronously before handing itself out.
    public func poll() -> InstancerEvent? {
        mailbox.poll()
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(mailbox: mailbox, lifetime: lifetime)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let mailbox: Mailbox
        fileprivate let lifetime: Lifetime

        public mutating func next() async -> InstancerEvent? {
            await mailbox.next()
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> InstancerEvent? {
            await mailbox.next()
        }
    }
}

extension InstanceSubscription {
    fileprivate final class Lifetime: Sendable {
        let mailbox: Mailbox
        init(_ mailbox: Mailbox) { self.mailbox = mailbox }
        deinit { mailbox.finish() }
    }

    /// One subscriber's mailbox. The publisher offers into it; the consumer waits on it.
    final class Mailbox: Sendable {
        private let state = Mutex(SubscriptionStateMachine())
        private let onFinish: @Sendable () -> Void

        init(onFinish: @escaping @Sendable () -> Void) {
            self.onFinish = onFinish
        }

        func offer(_ event: InstancerEvent, sequence: UInt64) {
            switch state.withLock({ $0.offer(event, sequence: sequence) }) {
            case .none: break
            case .resume(let continuation, let event): continuation.resume(returning: event)
            }
        }

        func poll() -> InstancerEvent? {
            state.withLock { $0.poll() }
        }

        var isFinished: Bool {
            state.withLock { $0.isFinished }
        }

        /// Waits for the next event. Cancelling the waiting task ends the subscription, unless
        /// `endOnCancel` is false: then only this wait ends, with `nil`.
        func next(endOnCancel: Bool = true) async -> InstancerEvent? {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<InstancerEvent?, Never>) in
                    switch state.withLock({ $0.next(continuation) }) {
                    case .none: break
                    case .resume(let continuation, let event): continuation.resume(returning: event)
                    }
                    // A cancel that landed before the waiter was installed found nothing to
                    // withdraw; the cancelled flag is already set then, so withdraw here.
                    if Task.isCancelled { cancelWait(endOnCancel: endOnCancel) }
                }
            } onCancel: {
                cancelWait(endOnCancel: endOnCancel)
            }
        }

        private func cancelWait(endOnCancel: Bool) {
            if endOnCancel {
                finish()
            } else if case .resume(let continuation) = state.withLock({ $0.withdrawWaiter() }) {
                continuation.resume(returning: nil)
            }
        }

        /// Ends the mailbox; the first call also tells the publisher to forget it.
        func finish() {
            let (action, wasFinished) = state.withLock { state in
                let wasFinished = state.isFinished
                return (state.finish(), wasFinished)
            }
            if case .resume(let continuation) = action { continuation.resume(returning: nil) }
            if !wasFinished { onFinish() }
        }
    }
}
