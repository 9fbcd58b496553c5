import Synchronization

/// The broadcasting heart of every ``Instancer``: holds the current state and fans it out.
///
/// A backend's watch loop calls ``update(_:)`` with whatever set it read and ``fail(_:)`` when
/// it fails. The cache sorts sets, drops sets identical to the last one sent, remembers the last
/// good set through failures, and gives each subscriber its own latest-state-wins mailbox so a
/// slow subscriber never blocks the backend or anyone else.
public final class InstanceCache: Instancer, Sendable {
    private struct State: Sendable {
        var lastEvent: InstancerEvent?
        var lastGoodSet: [Instance]?
        var sequence: UInt64 = 0
        var subscribers: [UInt64: InstanceSubscription.Mailbox] = [:]
        var stopped = false
        /// `run()` callers, resumed by `stop()`.
        var runners: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let nextSubscriberID = Atomic<UInt64>(0)

    public init() {}

    deinit {
        stop()
    }

    /// The last good set, kept through failures; `nil` before the first set arrives.
    public var instances: [Instance]? {
        state.withLock { $0.lastGoodSet }
    }

    /// The last event sent, `nil` before the first.
    public var lastEvent: InstancerEvent? {
        state.withLock { $0.lastEvent }
    }

    /// Publishes a complete set. It is sorted here (a backend that keeps its set sorted saves
    /// the sort: checking costs one comparison per instance); a set equal to the last one sent is
    /// dropped.
    public func update(_ instances: [Instance]) {
        publish(.instances(Self.isSorted(instances) ? instances : instances.sorted()))
    }

    /// Publishes a complete set that the caller keeps sorted and knows to differ from the last
    /// set it published, without checking either: for a backend that changes its set in place
    /// (Kubernetes' slices), so that an event costs what the change costs, not one comparison
    /// per instance. A set that is not sorted breaks every subscriber's diff.
    package func update(sortedAndChanged instances: [Instance]) {
        assert(Self.isSorted(instances))
        publish(.instances(instances), checkingForRepeat: false)
    }

    private static func isSorted(_ instances: [Instance]) -> Bool {
        guard instances.count > 1 else { return true }
        for index in 1..<instances.count where instances[index] < instances[index - 1] { return false }
        return true
    }

    /// Publishes a failure. The last good set stays available through ``instances``.
    public func fail(_ error: DiscoveryError) {
        publish(.failure(error))
    }

    private func publish(_ event: InstancerEvent, checkingForRepeat: Bool = true) {
        let delivery: (UInt64, [InstanceSubscription.Mailbox])? = state.withLock { state in
            guard !state.stopped, !checkingForRepeat || state.lastEvent != event else { return nil }
            state.lastEvent = event
            if case .instances(let set) = event { state.lastGoodSet = set }
            state.sequence += 1
            return (state.sequence, Array(state.subscribers.values))
        }
        guard let (sequence, mailboxes) = delivery else { return }
        for mailbox in mailboxes {
            mailbox.offer(event, sequence: sequence)
        }
    }

    public func subscribe() -> InstanceSubscription {
        let id = nextSubscriberID.wrappingAdd(1, ordering: .relaxed).newValue
        let mailbox = InstanceSubscription.Mailbox { [weak self] in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        let registered = state.withLock { state in
            guard !state.stopped else { return false }
            state.subscribers[id] = mailbox
            // A fresh mailbox has no waiter, so this offer resumes nothing under the lock.
            if let event = state.lastEvent { mailbox.offer(event, sequence: state.sequence) }
            return true
        }
        if !registered { mailbox.finish() }
        return InstanceSubscription(mailbox: mailbox)
    }

    /// How many subscriptions are live.
    package var subscriberCount: Int {
        state.withLock { $0.subscribers.count }
    }

    /// Ends every subscription; later updates are ignored. Idempotent.
    public func stop() {
        let (mailboxes, runners) = state.withLock { state in
            state.stopped = true
            defer {
                state.subscribers.removeAll()
                state.runners.removeAll()
            }
            return (Array(state.subscribers.values), state.runners)
        }
        for mailbox in mailboxes { mailbox.finish() }
        for runner in runners { runner.resume() }
    }

    /// Returns once the cache is stopped; cancelling the calling task stops it.
    public func run() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (runner: CheckedContinuation<Void, Never>) in
                let stopped = state.withLock { state in
                    if !state.stopped { state.runners.append(runner) }
                    return state.stopped
                }
                if stopped { runner.resume() }
            }
        } onCancel: {
            stop()
        }
    }
}
