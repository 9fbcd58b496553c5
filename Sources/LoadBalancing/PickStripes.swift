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
        @usableFromInline var failure: DiscoveryError?
        /// Round robin's next position, or random's generator state.
        @usableFromInline var counter: UInt64
        /// A random number fixed for the stripe's life: round robin's start in each new set.
        @usableFromInline let seed: UInt64
    }

    /// One stripe: a test-and-set lock and the state it guards.
    ///
    /// A stripe is almost always used by one thread (threads map to stripes by slot number), so
    /// the lock is nearly never contended. A test-and-set lock takes one `xchg` and releases with
    /// a plain store, where `Mutex` (priority-inheriting on Linux) needs a compare-and-swap for
    /// each; measured here that is 14.4 ns against 8.2 ns a pick. When it is contended it spins
    /// briefly and then yields the processor.
    @usableFromInline
    struct Stripe: ~Copyable {
        @usableFromInline let locked = Atomic<Bool>(false)
        @usableFromInline var state: State
        private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
            0, 0, 0, 0, 0, 0, 0, 0
        )

        init(seed: UInt64) {
            state = State(counter: seed, seed: seed)
        }
    }

    @usableFromInline let source: Source
    /// The first stripe; stripe `i` starts `i * stride` bytes after it.
    @usableFromInline let stripes: UnsafeMutableRawPointer
    /// A stripe's size rounded up to whole 128-byte blocks (two cache lines, as the adjacent
    /// line prefetcher pulls pairs), so every stripe starts on its own block.
    @usableFromInline let stride: Int
    @usableFromInline let mask: Int

    init(source: Source) {
        self.source = source
        var count = 4
        while count < min(64, 2 * Self.processorCount) { count *= 2 }
        stride = (MemoryLayout<Stripe>.stride + 127) / 128 * 128
        stripes = UnsafeMutableRawPointer.allocate(byteCount: count * stride, alignment: 128)
        var generator = SystemRandomNumberGenerator()
        for index in 0..<count {
            (stripes + index * stride).bindMemory(to: Stripe.self, capacity: 1)
                .initialize(to: Stripe(seed: generator.next()))
        }
        mask = count - 1
    }

    deinit {
        for index in 0...mask { stripe(index).deinitialize(count: 1) }
        stripes.deallocate()
    }

    /// Stripe number `index` (masked by the caller).
    @inlinable @inline(__always)
    func stripe(_ index: Int) -> UnsafeMutablePointer<Stripe> {
        (stripes + index &* stride).assumingMemoryBound(to: Stripe.self)
    }

    /// Where each stripe starts (for the alignment test).
    var stripeAddresses: [UInt] {
        (0...mask).map { UInt(bitPattern: stripe($0)) }
    }

    /// Runs `select` on the calling thread's stripe, with current, non-empty endpoints.
    @inlinable @inline(__always)
    func withCurrentEndpoints<Result>(
        _ select: (inout State, _ refreshed: Bool) -> Result
    ) throws(DiscoveryError) -> Result {
        let stripe = self.stripe(Int(truncatingIfNeeded: cds_thread_slot()) & mask)
        let generation = source.generation
        if _slowPath(stripe.pointee.locked.exchange(true, ordering: .acquiring)) { Self.lockSlow(stripe) }
        defer { stripe.pointee.locked.store(false, ordering: .releasing) }
        var refreshed = false
        if _slowPath(stripe.pointee.state.generation != generation) {
            refresh(&stripe.pointee.state, to: generation)
            refreshed = true
        }
        if _slowPath(stripe.pointee.state.endpoints.isEmpty) {
            throw Self.noEndpoints(stripe.pointee.state.failure)
        }
        return select(&stripe.pointee.state, refreshed)
    }

    /// Waits for a contended stripe: spin a little, then yield the processor between tries.
    @usableFromInline @inline(never)
    static func lockSlow(_ stripe: UnsafeMutablePointer<Stripe>) {
        var spins = 0
        while true {
            if !stripe.pointee.locked.load(ordering: .relaxed),
                !stripe.pointee.locked.exchange(true, ordering: .acquiring)
            {
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
