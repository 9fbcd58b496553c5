import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `register -- CMD`'s wrapped command as the signal forwarder sees it: not started yet,
/// running, or ended.
///
/// Every forward happens under the slot's lock, so a signal that arrives before the child
/// exists is kept and delivered as it starts (never lost), and one that arrives after the
/// child has been waited for goes nowhere: the child is marked ended before it is reaped
/// (``ChildProcess/wait(beforeReaping:)``), so its pid, which the kernel may hand to another
/// process once reaped, is never signalled again.
final class ChildSlot: Sendable {
    private enum State {
        case notStarted(pending: [Int32])
        case running(ChildProcess)
        case ended
    }

    private let state = Mutex(State.notStarted(pending: []))
    /// Whether a SIGTERM or SIGINT was held back for draining instead of forwarded.
    let heldOne = Atomic<Bool>(false)
    /// Whether the child has a process group of its own (see ``ChildProcess/spawn``).
    let ownGroup = Atomic<Bool>(false)

    /// Records the started child and delivers what came before it.
    func started(_ process: ChildProcess, ownGroup: Bool) {
        self.ownGroup.store(ownGroup, ordering: .relaxed)
        state.withLock { state in
            if case .notStarted(let pending) = state {
                for number in pending { process.signal(number) }
            }
            state = .running(process)
        }
    }

    /// Sends `number` to the child, or keeps it for a child about to start.
    func signal(_ number: Int32) {
        state.withLock { state in
            switch state {
            case .notStarted(var pending):
                pending.append(number)
                state = .notStarted(pending: pending)
            case .running(let process):
                process.signal(number)
            case .ended:
                break
            }
        }
    }

    /// Called once the child has ended, before it is reaped.
    func ended() {
        state.withLock { $0 = .ended }
    }

    /// Whether the terminal's own SIGINT and SIGQUIT reach the child directly: it shares
    /// sdctl's process group and sdctl is in the terminal's foreground now.
    var sharesTerminalSignals: Bool {
        !ownGroup.load(ordering: .relaxed) && RegisterCommand.ownsTerminalForeground()
    }

    /// Whether a child was started (running or ended).
    var wasStarted: Bool {
        state.withLock { state in
            if case .notStarted = state { return false }
            return true
        }
    }
}
