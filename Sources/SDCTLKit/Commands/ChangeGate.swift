import Synchronization

/// Drives a ``ChangeGateStateMachine``: hands each set on to `run` when the machine says so,
/// with one timer task for quiescence.
final class ChangeGate: Sendable {
    private struct State {
        var machine: ChangeGateStateMachine
        var timer: Task<Void, Never>?
        var finished = false
    }

    private let state: Mutex<State>
    private let run: @Sendable (WatchHandler.Snapshot) -> Void

    init(
        _ configuration: ChangeGateStateMachine.Configuration,
        run: @escaping @Sendable (WatchHandler.Snapshot) -> Void
    ) {
        state = Mutex(State(machine: ChangeGateStateMachine(configuration)))
        self.run = run
    }

    func changed(_ snapshot: WatchHandler.Snapshot) {
        let action = state.withLock { state in
            state.finished ? .none : state.machine.changed(snapshot, now: .now)
        }
        perform(action)
    }

    /// Stops the timer; a burst still waiting for quiet is dropped.
    func finish() {
        let timer = state.withLock { state in
            state.finished = true
            defer { state.timer = nil }
            return state.timer
        }
        timer?.cancel()
    }

    private func timerFired() {
        let action = state.withLock { state in
            state.finished ? .none : state.machine.timerFired(now: .now)
        }
        perform(action)
    }

    private func perform(_ action: ChangeGateStateMachine.Action) {
        switch action {
        case .none:
            break
        case .run(let snapshot):
            run(snapshot)
        case .wake(let instant):
            let timer = Task { [weak self] in
                try? await Task.sleep(until: instant, clock: .continuous)
                guard !Task.isCancelled else { return }
                self?.timerFired()
            }
            let previous = state.withLock { state in
                if state.finished {
                    timer.cancel()
                    return Task<Void, Never>?.none
                }
                defer { state.timer = timer }
                return state.timer
            }
            previous?.cancel()
        }
    }
}
