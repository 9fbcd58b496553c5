import CDiscoverySupport
import Discovery
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Per-thread pick state shared by the balancers.
///
/// A single lock or counter shared by every picking thread turns into cache-line ping-pong
/// under parallel picks (measured here: 39-43 ns/op with 2 threads against 10 ns alone).
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
        @usableFromInline var failure: DiscoveryError?
        /// Round robin's next position, or random's generator state.
        @usableFromInline var counter: UInt64
        /// A random number fixed for the stripe's life: round robin's start in each new set.
        @usableFromInline let seed: UInt64
    }

    /// One stripe is one block of whole 128-byte units (two cache lines, as the adjacent-line
    /// prefetcher pulls pairs), so neighbouring stripes never share a line: a test-and-set lock
    /// at its start and the state it guards at ``stateOffset``.
    ///
    /// The lock and the state are reached through separate pointers so that a thread waiting on
    /// the lock never touches the Swift storage that the holder is modifying (ThreadSanitizer
    /// rightly reported the lock's atomic inside a struct being modified through `pointee`).
    ///
    /// A stripe is almost always used by one thread (threads map to stripes by slot number), so
    /// the lock is nearly never contended. A test-and-set lock takes one `xchg` and releases with
    /// a plain store, where `Mutex` (priority-inheriting on Linux) needs a compare-and-swap for
    /// each; measured here that is 14.4 ns against 8.2 ns a pick. When it is contended it spins
    /// briefly and then yields the processor.
    /// Stored, not computed: a pick must not ask the runtime for a generic type's layout.
    @usableFromInline let stateOffset = max(MemoryLayout<State>.alignment, MemoryLayout<Atomic<Bool>>.stride)

    @usableFromInline let source: Source
    /// The first stripe; stripe `i` starts `i * stride` bytes after it.
    @usableFromInline let stripes: UnsafeMutableRawPointer
    /// A stripe's size, in whole 128-byte units.
    @usableFromInline let stride: Int
    @usableFromInline let mask: Int

    /// `seed` fixes every stripe's random numbers (stripe `i` starts from `seed + i`), for tests.
    init(source: Source, seed: UInt64? = nil) {
        self.source = source
        var count = 4
        while count < min(64, 2 * Self.processorCount) { count *= 2 }
        stride = (stateOffset + MemoryLayout<State>.stride + 127) / 128 * 128
        stripes = UnsafeMutableRawPointer.allocate(byteCount: count * stride, alignment: 128)
        mask = count - 1
        var generator = SystemRandomNumberGenerator()
        for index in 0...mask {
            (stripes + index * stride).bindMemory(to: Atomic<Bool>.self, capacity: 1).initialize(
                to: Atomic(false))
            let seed = seed.map { $0 &+ UInt64(index) } ?? generator.next()
            (stripes + index * stride + stateOffset).bindMemory(to: State.self, capacity: 1)
                .initialize(to: State(counter: seed, seed: seed))
        }
    }

    deinit {
        for index in 0...mask {
            lock(index).deinitialize(count: 1)
            state(index).deinitialize(count: 1)
        }
        stripes.deallocate()
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

    /// Where each stripe starts (for the alignment test).
    var stripeAddresses: [UInt] {
        (0...mask).map { UInt(bitPattern: lock($0)) }
    }

    /// Runs `select` on the calling thread's stripe, with current, non-empty endpoints.
    @inlinable @inline(__always)
    func withCurrentEndpoints<Result>(
        _ select: (inout State, _ refreshed: Bool) -> Result
    ) throws(DiscoveryError) -> Result {
        let index = Int(truncatingIfNeeded: cds_thread_slot()) & mask
        let lock = self.lock(index)
        let state = self.state(index)
        let generation = source.generation
        if _slowPath(lock.pointee.exchange(true, ordering: .acquiring)) { Self.lockSlow(lock) }
        defer { lock.pointee.store(false, ordering: .releasing) }
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

    /// Waits for a contended stripe: spin a little, then yield the processor between tries.
    @usableFromInline @inline(never)
    static func lockSlow(_ lock: UnsafeMutablePointer<Atomic<Bool>>) {
        var spins = 0
        while true {
            if !lock.pointee.load(ordering: .relaxed), !lock.pointee.exchange(true, ordering: .acquiring) {
                return
            }
            spins += 1
            if spins > 64 { sched_yield() }
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
