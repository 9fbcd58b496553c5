import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The time source of the balancers that need one (``PeakEWMABalancer``'s decay, outlier
/// ejection's intervals, latencies of leases completed without one).
///
/// ``shared`` is read with one atomic load: a background thread stores the monotonic clock in
/// it every millisecond while any balancer uses it, and stops when none does. Reading the
/// system clock instead costs more than a whole pick (docs/balancers.md). A ``manual(start:)``
/// clock moves only when told to, for simulations and tests.
public final class BalancerClock: Sendable {
    /// Nanoseconds on the monotonic clock (or the manual clock's reading).
    @usableFromInline let reading: Atomic<UInt64>
    private let ticking: Bool
    private let users = Mutex(Users())

    private struct Users {
        var count = 0
        var threadRunning = false
    }

    /// The process-wide ticking clock.
    public static let shared = BalancerClock(ticking: true)

    /// A clock that stands at `start` until ``advance(by:)`` moves it.
    public static func manual(start: Duration = .zero) -> BalancerClock {
        let clock = BalancerClock(ticking: false)
        clock.reading.store(start.nanosecondsClamped, ordering: .relaxed)
        return clock
    }

    private init(ticking: Bool) {
        self.ticking = ticking
        self.reading = Atomic(ticking ? Self.monotonicNanoseconds() : 0)
    }

    /// The current reading, in nanoseconds.
    @inlinable
    public var nanoseconds: UInt64 { reading.load(ordering: .relaxed) }

    /// Moves a manual clock forward (a ticking clock ignores this).
    public func advance(by duration: Duration) {
        guard !ticking else { return }
        reading.add(duration.nanosecondsClamped, ordering: .relaxed)
    }

    /// Registers a user: the ticking clock runs while it has any.
    func retain() {
        guard ticking else { return }
        let start = users.withLock { users -> Bool in
            users.count += 1
            guard !users.threadRunning else { return false }
            users.threadRunning = true
            return true
        }
        reading.store(Self.monotonicNanoseconds(), ordering: .relaxed)
        if start { startThread() }
    }

    func release() {
        guard ticking else { return }
        users.withLock { $0.count -= 1 }
    }

    private func startThread() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { raw in
                let clock = Unmanaged<BalancerClock>.fromOpaque(raw!).takeRetainedValue()
                clock.tick()
                return nil
            }, context)
        if result == 0 {
            pthread_detach(thread)
        } else {
            // No thread: readings stay where retain() left them, so that time stands still
            // rather than nothing working. Try again on the next retain.
            Unmanaged<BalancerClock>.fromOpaque(context).release()
            users.withLock { $0.threadRunning = false }
        }
    }

    /// The ticker: store the clock every millisecond until nobody uses it.
    private func tick() {
        var interval = timespec(tv_sec: 0, tv_nsec: 1_000_000)
        while true {
            reading.store(Self.monotonicNanoseconds(), ordering: .relaxed)
            let keepGoing = users.withLock { users -> Bool in
                if users.count > 0 { return true }
                users.threadRunning = false
                return false
            }
            guard keepGoing else { return }
            nanosleep(&interval, nil)
        }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}

extension Duration {
    /// Whole nanoseconds, 0 for negative durations, saturating at UInt64.max.
    @inlinable
    var nanosecondsClamped: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        return whole &+ UInt64(attoseconds / 1_000_000_000)
    }

    /// Nanoseconds as a Double, from the attoseconds' two 64-bit halves, without the generic
    /// Int128 code of `Double(attoseconds)` and `components`.
    // Measured: those cost 570 ns and 28 ns, more than a whole lease; this costs 4 ns.
    @inlinable
    var fastNanoseconds: Double {
        let attoseconds = self.attoseconds
        return (Double(attoseconds._high) * 18_446_744_073_709_551_616.0 + Double(attoseconds._low)) * 1e-9
    }
}
