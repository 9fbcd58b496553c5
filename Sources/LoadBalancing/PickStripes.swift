import CDiscoverySupport
import Discovery
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Per-thread pick state shared by the balancers.
///
/// A single lock or counter shared by every picking thread turns into cache-line ping-pong
/// under parallel picks (docs/architecture.md, "Balancers: per-thread stripes", has the figures).
/// Instead each thread maps, by a thread-local slot number, to one of a few stripes; each
/// stripe holds its own lock, its own copy of the endpointer's snapshot and its own counter.
/// A pick is one load of the endpointer's generation plus one uncontended lock; the snapshot
/// is copied in only when the generation moved.
///
/// The stripes live in one raw buffer, 128-byte aligned and padded, so that reaching a stripe
/// costs no reference counting and neighbouring stripes never share a cache line.
@usableFromInline
final class PickStripes<Source: Endpointer>: @unchecked Sendable {
    // @unchecked: `stripes` is written only in init and deinit; each stripe's state is only
    // touched while holding that stripe's lock.

    @usableFromInline
    struct State: Sendable {
        @usableFromInline var generation: UInt64 = .max
        @usableFromInline var endpoints: [Source.Endpoint] = []
        @usableFromInline var addresses: [String] = []
        @usableFromInline var preferences: [EndpointPreference] = []
        /// What a balancer derives from the endpoints when they change (``SRVBalancer``'s
        /// priority groups); rebuilt by the balancer on a refreshed pick.
        @usableFromInline var plan = PickPlan()
        /// The table a hashing or weighted balancer picks from (shared by all stripes).
        @usableFromInline var table: SharedTable<Source.Endpoint>?
        @usableFromInline var failure: DiscoveryError?
        /// Round robin's next position, or random's generator state.
        @usableFromInline var counter: UInt64
        /// A random number fixed for the stripe's life: round robin's start in each new set.
        @usableFromInline let seed: UInt64
    }

    /// One stripe is one block of whole 128-byte units (two cache lines, as the adjacent-line
    /// prefetcher pulls pairs), so neighbouring stripes never share a line: a test-and-set lock
    /// at its start, the load records of load-aware balancers (``LoadState``) at
    /// ``LedgerHeader/loadOffset``, and the state it guards at ``stateOffset``. The memory
    /// belongs to a ``LoadLedger``, so that leases still out when the balancer goes can report
    /// back safely.
    ///
    /// The lock and the state are reached through separate pointers so that a thread waiting on
    /// the lock never touches the Swift storage that the holder is modifying (ThreadSanitizer
    /// rightly reported the lock's atomic inside a struct being modified through `pointee`).
    ///
    /// A stripe is almost always used by one thread (threads map to stripes by slot number), so
    /// the lock is nearly never contended. A test-and-set lock takes one `xchg` and releases with
    /// a plain store, where `Mutex` (priority-inheriting on Linux) needs a compare-and-swap for
    /// each. When it is contended it spins briefly and then yields the processor.
    // Measured: a pick costs 8.2 ns with this lock against 14.4 ns with `Mutex`.
    /// Stored, not computed: a pick must not ask the runtime for a generic type's layout.
    @usableFromInline let stateOffset: Int
    @usableFromInline let loadOffset: Int

    @usableFromInline let source: Source
    @usableFromInline let ledger: LoadLedger
    /// The first stripe; stripe `i` starts `i * stride` bytes after it.
    @usableFromInline let stripes: UnsafeMutableRawPointer
    /// A stripe's size, in whole 128-byte units.
    @usableFromInline let stride: Int
    @usableFromInline let mask: Int
    @usableFromInline let clock: BalancerClock
    /// Peak-EWMA's decay time constant and its estimate for unmeasured endpoints, nanoseconds.
    @usableFromInline let tau: Double
    @usableFromInline let penalty: Double

    /// `seed` fixes every stripe's random numbers (stripe `i` starts from `seed + i`), for tests.
    /// `mode` says what leases report; `tau`, `penalty` and `clock` serve peak-EWMA.
    init(
        source: Source, seed: UInt64? = nil, mode: LoadMode = .none, tau: Duration = .seconds(10),
        penalty: Duration = .zero, clock: BalancerClock = .shared
    ) {
        self.source = source
        self.clock = clock
        self.tau = max(1, Double(tau.nanosecondsClamped))
        self.penalty = Double(penalty.nanosecondsClamped)
        var count = 4
        while count < min(64, 2 * Self.processorCount) { count *= 2 }
        loadOffset = LoadLedger.loadOffset
        let alignment = MemoryLayout<State>.alignment
        stateOffset = (loadOffset + MemoryLayout<LoadState>.stride + alignment - 1) / alignment * alignment
        stride = (stateOffset + MemoryLayout<State>.stride + 127) / 128 * 128
        ledger = LoadLedger.allocate(
            stripeCount: count, stride: stride, loadOffset: loadOffset, mode: mode, tau: self.tau,
            penalty: self.penalty, clock: clock)
        stripes = ledger.stripe(0)
        mask = count - 1
        var generator = SystemRandomNumberGenerator()
        for index in 0...mask {
            let seed = seed.map { $0 &+ UInt64(index) } ?? generator.next()
            (stripes + index * stride + stateOffset).bindMemory(to: State.self, capacity: 1)
                .initialize(to: State(counter: seed, seed: seed))
        }
    }

    deinit {
        let stripes = self.stripes
        let stride = self.stride
        let stateOffset = self.stateOffset
        ledger.close { index in
            (stripes + index * stride + stateOffset).assumingMemoryBound(to: State.self).deinitialize(
                count: 1)
        }
    }

    /// Stripe `index`'s lock (`index` masked by the caller).
    @inlinable @inline(__always)
    func lock(_ index: Int) -> UnsafeMutablePointer<Atomic<Bool>> {
        (stripes + index &* stride).assumingMemoryBound(to: Atomic<Bool>.self)
    }

    /// Stripe `index`'s state, to be touched only while holding its lock.
    @inlinable @inline(__always)
    func state(_ index: Int) -> UnsafeMutablePointer<State> {
        (stripes + (index &* stride &+ stateOffset)).assumingMemoryBound(to: State.self)
    }

    /// Stripe `index`'s load records, to be touched only while holding its lock.
    @inlinable @inline(__always)
    func loadState(_ index: Int) -> UnsafeMutablePointer<LoadState> {
        (stripes + (index &* stride &+ loadOffset)).assumingMemoryBound(to: LoadState.self)
    }

    /// Where each stripe starts (for the alignment test).
    var stripeAddresses: [UInt] {
        (0...mask).map { UInt(bitPattern: lock($0)) }
    }

    /// Locks the calling thread's stripe, with current, non-empty endpoints, and returns its
    /// index (to pass to ``state(_:)`` and ``leave(_:)``) and whether the endpoints were just
    /// refreshed. Straight-line code around this, rather than a closure passed in, is what the
    /// optimiser inlines: ``withCurrentEndpoints(_:)`` stayed an out-of-line call with an
    /// indirect call of the closure, a quarter of an SRV pick.
    @inlinable @inline(__always)
    func enter() throws(DiscoveryError) -> (index: Int, refreshed: Bool) {
        let index = Int(truncatingIfNeeded: cds_thread_slot()) & mask
        let lock = self.lock(index)
        let state = self.state(index)
        let generation = source.generation
        LoadLedger.acquire(lock)
        var refreshed = false
        if _slowPath(state.pointee.generation != generation) {
            refresh(&state.pointee, to: generation)
            refreshed = true
        }
        if _slowPath(state.pointee.endpoints.isEmpty) {
            let failure = state.pointee.failure
            LoadLedger.release(lock)
            throw Self.noEndpoints(failure)
        }
        return (index, refreshed)
    }

    /// Unlocks a stripe taken with ``enter()``.
    @inlinable @inline(__always)
    func leave(_ index: Int) {
        LoadLedger.release(lock(index))
    }

    /// Runs `select` on the calling thread's stripe, with current, non-empty endpoints.
    @inlinable @inline(__always)
    func withCurrentEndpoints<Result: ~Copyable>(
        _ select: (inout State, _ refreshed: Bool) -> Result
    ) throws(DiscoveryError) -> Result {
        let index = Int(truncatingIfNeeded: cds_thread_slot()) & mask
        let lock = self.lock(index)
        let state = self.state(index)
        let generation = source.generation
        LoadLedger.acquire(lock)
        defer { LoadLedger.release(lock) }
        var refreshed = false
        if _slowPath(state.pointee.generation != generation) {
            refresh(&state.pointee, to: generation)
            refreshed = true
        }
        if _slowPath(state.pointee.endpoints.isEmpty) {
            throw Self.noEndpoints(state.pointee.failure)
        }
        return select(&state.pointee, refreshed)
    }

    /// Runs `select` on the calling thread's stripe, with current, non-empty endpoints and
    /// load records laid out for them; `select` gets the stripe's memory for the lease ticket.
    @inlinable @inline(__always)
    func withCurrentLoads<Result: ~Copyable>(
        _ select: (inout State, inout LoadState, _ stripe: UnsafeMutableRawPointer) -> Result
    ) throws(DiscoveryError) -> Result {
        let index = Int(truncatingIfNeeded: cds_thread_slot()) & mask
        let lock = self.lock(index)
        let state = self.state(index)
        let loads = self.loadState(index)
        let generation = source.generation
        LoadLedger.acquire(lock)
        defer { LoadLedger.release(lock) }
        if _slowPath(state.pointee.generation != generation || loads.pointee.generation != generation) {
            refreshWithLoads(state, loads, to: generation)
        }
        if _slowPath(state.pointee.endpoints.isEmpty) {
            throw Self.noEndpoints(state.pointee.failure)
        }
        return select(&state.pointee, &loads.pointee, UnsafeMutableRawPointer(lock))
    }

    /// Copies the endpointer's snapshot into a stripe and lays its load records out for it.
    @usableFromInline @inline(never)
    func refreshWithLoads(
        _ state: UnsafeMutablePointer<State>, _ loads: UnsafeMutablePointer<LoadState>, to generation: UInt64
    ) {
        if state.pointee.generation != generation { refresh(&state.pointee, to: generation) }
        if loads.pointee.generation != generation {
            LoadLedger.relayout(
                &loads.pointee, addresses: state.pointee.addresses, generation: generation,
                now: clock.nanoseconds, penalty: penalty)
        }
    }

    /// Copies the endpointer's snapshot into a stripe; the cold path of a pick.
    @usableFromInline @inline(never)
    func refresh(_ state: inout State, to generation: UInt64) {
        let snapshot = source.snapshot()
        state.endpoints = snapshot.endpoints
        state.addresses = snapshot.addresses
        state.preferences = snapshot.preferences
        state.failure = snapshot.failure
        state.generation = generation
    }

    @usableFromInline @inline(never)
    static func noEndpoints(_ failure: DiscoveryError?) -> DiscoveryError {
        if let failure {
            return DiscoveryError(.noEndpoints, "no endpoints: discovery failed: \(failure.message)")
        }
        return DiscoveryError(.noEndpoints, "no endpoints available")
    }

    static var processorCount: Int {
        #if canImport(Glibc)
            return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
            return 8
        #endif
    }
}
