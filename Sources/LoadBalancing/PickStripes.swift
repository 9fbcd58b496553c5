import CDiscoverySupport
import Discovery
import Synchronization

/// Per-thread pick state shared by the balancers.
///
/// A single lock or counter shared by every picking thread turns into cache-line ping-pong
/// under parallel picks (measured here: 39-43 ns/op with 2 threads against 10 ns alone).
/// Instead each thread maps, by a thread-local slot number, to one of a few stripes; each
/// stripe holds its own lock, its own copy of the endpointer's snapshot and its own counter.
/// A pick is one atomic load of the endpointer's generation plus one uncontended lock; the
/// snapshot is re-read only when the generation moved.
@usableFromInline
final class PickStripes<Source: Endpointer>: Sendable {
    @usableFromInline
    struct State: Sendable {
        @usableFromInline var generation: UInt64 = .max
        @usableFromInline var snapshot: EndpointSnapshot<Source.Endpoint> = .empty
        /// Round robin's next position, or random's generator state.
        @usableFromInline var counter: UInt64
        /// A random number fixed for the stripe's life: round robin's start in each new set.
        @usableFromInline let seed: UInt64
    }

    @usableFromInline
    final class Stripe: Sendable {
        @usableFromInline let state: Mutex<State>
        // Keeps neighbouring stripes, allocated back to back, off one another's cache line.
        private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
            0, 0, 0, 0, 0, 0, 0, 0
        )

        init(seed: UInt64) {
            state = Mutex(State(counter: seed, seed: seed))
        }
    }

    @usableFromInline let source: Source
    @usableFromInline let stripes: [Stripe]
    @usableFromInline let mask: Int

    init(source: Source) {
        self.source = source
        var count = 4
        while count < min(64, 2 * System.activeProcessorCount) { count *= 2 }
        var generator = SystemRandomNumberGenerator()
        stripes = (0..<count).map { _ in Stripe(seed: generator.next()) }
        mask = count - 1
    }

    /// Runs `select` on the calling thread's stripe, with a current, non-empty snapshot.
    @inlinable
    func withCurrentSnapshot<Result>(
        _ select: (inout State, _ refreshed: Bool) -> Result
    ) throws(DiscoveryError) -> Result {
        let stripe = stripes[Int(cds_thread_slot()) & mask]
        let generation = source.generation
        return try stripe.state.withLock { (state: inout State) throws(DiscoveryError) -> Result in
            var refreshed = false
            if state.generation != generation {
                state.snapshot = source.snapshot()
                state.generation = generation
                refreshed = true
            }
            guard !state.snapshot.isEmpty else { throw Self.noEndpoints(state.snapshot.failure) }
            return select(&state, refreshed)
        }
    }

    @usableFromInline
    static func noEndpoints(_ failure: DiscoveryError?) -> DiscoveryError {
        if let failure {
            return DiscoveryError(.noEndpoints, "no endpoints: discovery failed: \(failure.message)")
        }
        return DiscoveryError(.noEndpoints, "no endpoints available")
    }
}

enum System {
    static var activeProcessorCount: Int {
        #if canImport(Glibc)
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 8
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
