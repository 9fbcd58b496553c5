import Synchronization
import UnixSignals

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Delivers signals to a handler instead of their default action, through
/// swift-service-lifecycle's `UnixSignalsSequence`.
///
/// ``start(_:handler:)`` returns once the signals are trapped, so a signal that comes after it
/// (say, between spawning a child and waiting for it) is never lost and never kills sdctl.
/// Several watchers of one signal in one process each see it. A signal once watched stays
/// trapped for the life of the process: libdispatch installs its handler for a signal once,
/// and giving the signal its default action back would take that handler away from every
/// later watcher (measured: a second latch in one process then never fired).
final class SignalWatcher: Sendable {
    private let task: Mutex<Task<Void, Never>?>

    private init(task: Task<Void, Never>) {
        self.task = Mutex(task)
    }

    static func start(_ signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) async -> SignalWatcher
    {
        Dispositions.trap(signals)
        let sequence = await UnixSignalsSequence(trapping: signals.map(UnixSignal.init))
        let task = Task {
            for await signal in sequence { handler(signal.rawValue) }
        }
        return SignalWatcher(task: task)
    }

    /// Stops watching. Idempotent.
    func cancel() {
        task.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    /// Signals ignored at the process level before their first dispatch source exists, as
    /// libdispatch's signal sources expect; never restored (see the type's documentation).
    private enum Dispositions {
        static let trapped = Mutex<Set<Int32>>([])

        static func trap(_ signals: [Int32]) {
            trapped.withLock { trapped in
                for number in signals where trapped.insert(number).inserted { signal(number, SIG_IGN) }
            }
        }
    }
}

extension UnixSignal {
    init(_ number: Int32) {
        switch number {
        case SIGINT: self = .sigint
        case SIGTERM: self = .sigterm
        case SIGHUP: self = .sighup
        case SIGQUIT: self = .sigquit
        case SIGUSR1: self = .sigusr1
        case SIGUSR2: self = .sigusr2
        case SIGALRM: self = .sigalrm
        case SIGWINCH: self = .sigwinch
        default: preconditionFailure("signal \(number) is not one sdctl watches")
        }
    }
}
