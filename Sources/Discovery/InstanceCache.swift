import Synchronization

/// The broadcasting heart of every ``Instancer``: holds the current state and fans it out.
///
/// A backend's watch loop calls ``update(_:lag:)`` with whatever set it read and
/// ``fail(_:)`` when it fails. The cache sorts sets, drops sets identical to the last one
/// sent, remembers the last good set through failures, and gives each subscriber its own
/// latest-state-wins mailbox so a slow subscriber never blocks the backend or anyone else.
public final class InstanceCache: Instancer, Sendable {
    private struct State: Sendable {
        var lastEvent: InstancerEvent?
        var lastGoodSet: [Instance]?
        /// When the backend last stood behind the set (``InstanceFreshness``), less its lag.
        var confirmed: Duration?
        /// The lag the backend reported with its last answer.
        var lag: Duration = .zero
        /// Whether a failure has come since the last answer.
        var failing = false
        var sequence: UInt64 = 0
        var subscribers: [UInt64: InstanceSubscription.Mailbox] = [:]
        var stopped = false
        /// `run()` callers, resumed by `stop()`.
        var runners: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let nextSubscriberID = Atomic<UInt64>(0)
    /// How the backend's answers confirm its set.
    public let confirmation: Confirmation

    /// A cache for a backend whose answers confirm its set as `confirmation` says: a watch's
    /// while no failure comes (the default), a poll's at each answer.
    public init(confirmation: Confirmation = .whileWatching) {
        self.confirmation = confirmation
    }

    deinit {
        stop()
    }

    /// The last good set, kept through failures; `nil` before the first set arrives.
    public var instances: [Instance]? {
        state.withLock { $0.lastGoodSet }
    }

    /// How current the last good set is; `nil` before the first set arrives.
    public var freshness: InstanceFreshness? {
        state.withLock { state in
            guard state.lastGoodSet != nil, let confirmed = state.confirmed else { return nil }
            if !state.failing, confirmation == .whileWatching {
                return InstanceFreshness(confirmed: InstanceFreshness.now() - state.lag, isStale: false)
            }
            return InstanceFreshness(confirmed: confirmed, isStale: state.failing)
        }
    }

    /// The last event sent, `nil` before the first.
    public var lastEvent: InstancerEvent? {
        state.withLock { $0.lastEvent }
    }

    /// Publishes a complete set. It is sorted here (a backend that keeps its set sorted saves
    /// the sort: checking costs one comparison per instance); a set equal to the last one sent is
    /// dropped, but confirms the set all the same. `lag` is how far behind its source the
    /// backend said its answer may be (a Consul follower's last contact with its leader).
    public func update(_ instances: [Instance], lag: Duration = .zero) {
        publish(.instances(Self.isSorted(instances) ? instances : instances.sorted()), lag: lag)
    }

    /// Records that the backend answered with the set it last published, unchanged: a poll's
    /// answer that is not news. After a failure the set is sent again, so that subscribers learn
    /// it is no longer stale.
    public func confirm(lag: Duration = .zero) {
        let event: InstancerEvent? = state.withLock { state in
            guard !state.stopped, let set = state.lastGoodSet else { return nil }
            guard state.failing else {
                state.confirmed = InstanceFreshness.now() - lag
                state.lag = lag
                return nil
            }
            return .instances(set)
        }
        if let event { publish(event, lag: lag) }
    }

    /// Publishes a complete set that the caller keeps sorted and knows to differ from the last
    /// set it published, without checking either: for a backend that changes its set in place
    /// (Kubernetes' slices), so that an event costs what the change costs, not one comparison
    /// per instance. A set that is not sorted breaks every subscriber's diff.
    package func update(sortedAndChanged instances: [Instance]) {
        assert(Self.isSorted(instances))
        publish(.instances(instances), lag: .zero, checkingForRepeat: false)
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

    private func publish(_ event: InstancerEvent, lag: Duration = .zero, checkingForRepeat: Bool = true) {
        let delivery: (UInt64, [InstanceSubscription.Mailbox])? = state.withLock { state in
            guard !state.stopped else { return nil }
            // Freshness first: a repeated set is not sent again, but it is an answer.
            switch event {
            case .instances:
                state.confirmed = InstanceFreshness.now() - lag
                state.lag = lag
                state.failing = false
            case .failure:
                if !state.failing, confirmation == .whileWatching, state.confirmed != nil {
                    // The watch stood behind the set until now, when it was lost.
                    state.confirmed = InstanceFreshness.now() - state.lag
                }
                state.failing = true
            }
            guard !checkingForRepeat || state.lastEvent != event else { return nil }
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
