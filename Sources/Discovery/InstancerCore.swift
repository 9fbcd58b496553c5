import Synchronization

/// What every instancer shares, held once: the ``InstanceCache`` with its subscriptions and last
/// good set, and the lifecycle of the backend's watch (its loop's task, ``stop()``, ``run()``,
/// and the stop on `deinit`).
///
/// A backend's instancer is its watch plus a core. A watch that is an `async` loop is given to
/// ``init(cache:onStop:loop:)``, which runs it in a task of its own at once; a watch driven by
/// callbacks starts them itself and passes the hook that stops them to ``init(cache:onStop:)``.
/// Either way the watch publishes into ``cache``.
///
/// The core stops the instancer when it is deinitialized: an instancer dropped without
/// ``stop()`` cancels its loop and ends its subscriptions, so nobody waits on it for ever. A
/// loop must therefore not hold the instancer (or the core) strongly.
public final class InstancerCore: Sendable {
    /// Where the watch publishes.
    public let cache: InstanceCache
    private let lifecycle: Lifecycle

    /// A core for a watch driven by callbacks, which the caller has started; `onStop` ends them
    /// and runs once, on the first ``stop()`` (or `deinit`).
    public init(cache: InstanceCache = InstanceCache(), onStop: (@Sendable () -> Void)? = nil) {
        self.cache = cache
        lifecycle = Lifecycle(cache: cache, onStop: onStop, hasLoop: false)
    }

    /// A core that runs `loop` at once, in a task of its own, until it is cancelled by ``stop()``.
    /// A loop that returns by itself stops the instancer. `onStop` runs once, on the first
    /// ``stop()``.
    public init(
        cache: InstanceCache = InstanceCache(), onStop: (@Sendable () -> Void)? = nil,
        loop: @escaping @Sendable (InstanceCache) async -> Void
    ) {
        self.cache = cache
        let lifecycle = Lifecycle(cache: cache, onStop: onStop, hasLoop: true)
        self.lifecycle = lifecycle
        // The task holds the lifecycle, not the core: dropping the instancer deinitializes the
        // core, which stops the loop.
        let task = Task {
            await loop(cache)
            lifecycle.loopEnded()
        }
        lifecycle.attach(task)
    }

    deinit {
        lifecycle.stop()
    }

    /// Whether ``stop()`` was called (or the loop ended).
    public var isStopped: Bool { lifecycle.isStopped }

    /// Stops watching, ends every subscription and cancels the loop. Idempotent; nothing is
    /// delivered after it returns.
    public func stop() {
        lifecycle.stop()
    }

    /// Returns once the instancer has stopped and its loop has returned. Cancelling the calling
    /// task stops the instancer. This makes an instancer a structured part of a task group or a
    /// swift-service-lifecycle `ServiceGroup`, though its loop runs from its creation.
    public func run() async {
        let lifecycle = self.lifecycle
        await withTaskCancellationHandler {
            await lifecycle.waitUntilFinished()
        } onCancel: {
            lifecycle.stop()
        }
    }
}

extension InstancerCore {
    /// The state machine behind a lock, shared by the core and its loop's task.
    private final class Lifecycle: Sendable {
        private let cache: InstanceCache
        private let onStop: (@Sendable () -> Void)?
        private let machine: Mutex<InstancerStateMachine>

        init(cache: InstanceCache, onStop: (@Sendable () -> Void)?, hasLoop: Bool) {
            self.cache = cache
            self.onStop = onStop
            machine = Mutex(InstancerStateMachine(hasLoop: hasLoop))
        }

        var isStopped: Bool { machine.withLock { $0.isStopped } }

        func attach(_ task: Task<Void, Never>) {
            if case .cancel(let task) = machine.withLock({ $0.attach(task) }) { task.cancel() }
        }

        func stop() {
            perform(machine.withLock { $0.stop() })
        }

        func loopEnded() {
            perform(machine.withLock { $0.loopEnded() })
        }

        func waitUntilFinished() async {
            await withCheckedContinuation { (waiter: InstancerStateMachine.Waiter) in
                if case .resume(let waiter) = machine.withLock({ $0.wait(waiter) }) { waiter.resume() }
            }
        }

        private func perform(_ action: InstancerStateMachine.StopAction?) {
            guard let action else { return }
            if action.stopSubscriptions {
                cache.stop()
                onStop?()
            }
            action.cancel?.cancel()
            for waiter in action.resume { waiter.resume() }
        }
    }
}
