import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Delivers signals to a handler on a queue instead of their default action.
///
/// While it is installed, the signals are ignored at the process level (so they no longer
/// kill us) and observed through Dispatch signal sources.
final class SignalWatcher: Sendable {
    private struct Sources: @unchecked Sendable {
        // Dispatch sources are thread-safe; the overlay does not say so.
        var list: [any DispatchSourceSignal]
    }

    private let sources: Mutex<Sources?>
    private let signals: [Int32]

    init(_ signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: "sdctl.signals")
        var list: [any DispatchSourceSignal] = []
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            list.append(source)
        }
        self.signals = signals
        sources = Mutex(Sources(list: list))
    }

    /// Restores the default actions. Idempotent.
    func cancel() {
        guard
            let taken = sources.withLock({ sources -> Sources? in
                defer { sources = nil }
                return sources
            })
        else { return }
        for source in taken.list { source.cancel() }
        for number in signals { signal(number, SIG_DFL) }
    }

}

/// Remembers the first of some signals and lets one task wait for it.
///
/// Installed synchronously, so a signal that arrives while the caller is still busy (say,
/// registering) is not lost.
final class SignalLatch: Sendable {
    private struct State: Sendable {
        var received: Int32?
        var waiter: CheckedContinuation<Int32?, Never>?
    }

    private let state = Mutex(State())
    private let watcher = Mutex<SignalWatcher?>(nil)

    init(_ signals: [Int32]) {
        let installed = SignalWatcher(signals) { [weak self] number in self?.deliver(number) }
        watcher.withLock { $0 = installed }
    }

    private func deliver(_ number: Int32) {
        let waiter = state.withLock { state -> CheckedContinuation<Int32?, Never>? in
            if state.received == nil { state.received = number }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: number)
    }

    /// The first signal received, waiting for one if none came yet; `nil` if the waiting task
    /// is cancelled first.
    func wait() async -> Int32? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
                let ready = state.withLock { state -> Int32?? in
                    if let received = state.received { return .some(received) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Int32?, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Restores the signals' default actions. Idempotent.
    func cancel() {
        watcher.withLock { $0 }?.cancel()
    }
}
