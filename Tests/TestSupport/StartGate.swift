import Synchronization

/// Lets at most `permits` server starts run at once. When the whole suite begins, Swift Testing
/// starts every suite in parallel, and a dozen JVMs loading classes at the same time starved
/// the 2-core CI machine: a ZooKeeper server that answered `srvr` then took more than 10 s to
/// accept a session. Starting them a few at a time costs the same CPU and leaves the tests
/// that are already running their share of it.
public final class StartGate: Sendable {
    /// The gate for servers that run on the JVM (ZooKeeper, Curator).
    public static let jvm = StartGate(permits: 2)

    private struct State {
        var free: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    public init(permits: Int) {
        state = Mutex(State(free: permits))
    }

    /// Runs `body` holding one permit, waiting for one first when none is free.
    public func withPermit<T>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.free += 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
