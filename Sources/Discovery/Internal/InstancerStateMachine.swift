/// The lifecycle of one instancer: running (with its watch loop, if it has one), stopping
/// (stopped, the loop still unwinding), finished.
///
/// Each input mutates the state and returns what to do after the lock is released, as
/// ``RegistrarStateMachine`` does. The machine settles the races between the loop's task,
/// which ends by itself or when cancelled, `stop()` from any thread (the instancer's `deinit`
/// included), and `run()` callers waiting for the end.
package struct InstancerStateMachine: Sendable {
    package typealias Waiter = CheckedContinuation<Void, Never>

    package enum Loop: Sendable {
        /// The instancer is driven by callbacks: stopping it finishes it.
        case none
        /// A loop task is being made and not attached yet.
        case starting
        case running(Task<Void, Never>)
    }

    package enum State: Sendable {
        case running(Loop, waiters: [Waiter])
        /// Stopped; the loop has been cancelled and has not returned yet.
        case stopping(waiters: [Waiter])
        case finished
    }

    /// What `stop()` or a loop that ended must do.
    package struct StopAction: Sendable {
        /// The loop to cancel, if it runs.
        package var cancel: Task<Void, Never>?
        /// End every subscription and run the backend's stop hook.
        package var stopSubscriptions: Bool
        /// `run()` callers to resume.
        package var resume: [Waiter]
    }

    package enum AttachAction: Sendable {
        case none
        /// Stopped before the task was attached: cancel it.
        case cancel(Task<Void, Never>)
    }

    package enum WaitAction: Sendable {
        case none
        case resume(Waiter)
    }

    package private(set) var state: State

    package init(hasLoop: Bool) {
        state = .running(hasLoop ? .starting : .none, waiters: [])
    }

    package var isStopped: Bool {
        if case .running = state { return false }
        return true
    }

    /// Records the loop's task once it is made.
    package mutating func attach(_ task: Task<Void, Never>) -> AttachAction {
        switch state {
        case .running(.starting, let waiters):
            state = .running(.running(task), waiters: waiters)
            return .none
        case .running(.none, _), .running(.running, _):
            preconditionFailure("a loop attached twice, or to an instancer without one")
        case .stopping, .finished:
            return .cancel(task)
        }
    }

    /// `stop()`: the first call cancels the loop and ends the subscriptions; later ones do
    /// nothing.
    package mutating func stop() -> StopAction? {
        switch state {
        case .running(.none, let waiters):
            state = .finished
            return StopAction(cancel: nil, stopSubscriptions: true, resume: waiters)
        case .running(.starting, let waiters):
            state = .stopping(waiters: waiters)
            return StopAction(cancel: nil, stopSubscriptions: true, resume: [])
        case .running(.running(let task), let waiters):
            state = .stopping(waiters: waiters)
            return StopAction(cancel: task, stopSubscriptions: true, resume: [])
        case .stopping, .finished:
            return nil
        }
    }

    /// The loop returned: cancelled, or on its own (then the instancer stops with it, so no
    /// subscriber waits for a set that can no longer come).
    package mutating func loopEnded() -> StopAction? {
        switch state {
        case .running(_, let waiters):
            state = .finished
            return StopAction(cancel: nil, stopSubscriptions: true, resume: waiters)
        case .stopping(let waiters):
            state = .finished
            return StopAction(cancel: nil, stopSubscriptions: false, resume: waiters)
        case .finished:
            return nil
        }
    }

    /// A `run()` caller waits for the end.
    package mutating func wait(_ waiter: Waiter) -> WaitAction {
        switch state {
        case .running(let loop, var waiters):
            waiters.append(waiter)
            state = .running(loop, waiters: waiters)
            return .none
        case .stopping(var waiters):
            waiters.append(waiter)
            state = .stopping(waiters: waiters)
            return .none
        case .finished:
            return .resume(waiter)
        }
    }
}
