import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a load-aware balancer counts for each endpoint, per pick stripe.
@usableFromInline
struct EndpointLoad: Sendable {
    /// Leases taken from this stripe and not yet completed.
    @usableFromInline var outstanding: Int
    /// Peak-EWMA's latency estimate in nanoseconds (unused by least-outstanding).
    @usableFromInline var cost: Double
    /// The clock reading `cost` was last decayed to.
    @usableFromInline var stamp: UInt64

    @inlinable
    init(outstanding: Int, cost: Double, stamp: UInt64) {
        self.outstanding = outstanding
        self.cost = cost
        self.stamp = stamp
    }
}

/// One stripe's load records, guarded by the stripe's lock.
@usableFromInline
struct LoadState: @unchecked Sendable {
    // @unchecked: `loads` is owned by the stripe and touched only under its lock.

    /// The endpointer generation ``loads`` is laid out for.
    @usableFromInline var generation: UInt64 = .max
    /// Parallel to the stripe's endpoints (``count`` of them). Raw memory rather than an
    /// array: every lease writes it twice, and an array's uniqueness check on each write was a
    /// tenth of the lease.
    @usableFromInline var loads: UnsafeMutablePointer<EndpointLoad> = .allocate(capacity: 1)
    @usableFromInline var count = 0
    /// Address to position in ``loads``: finds the endpoint of a lease that outlived its set.
    @usableFromInline var positions: [String: Int] = [:]
    /// Leases taken from this stripe and not yet completed (including those whose endpoint
    /// has since left the set).
    @usableFromInline var leases = 0
    /// Set when the balancer is gone: the last lease to complete frees the memory.
    @usableFromInline var closed = false

    @usableFromInline init() {}
}

/// What a balancer learns from completed leases.
@usableFromInline
enum LoadMode: Sendable {
    /// Nothing: leases report to nobody.
    case none
    /// Outstanding requests per endpoint.
    case outstanding
    /// Outstanding requests and a peak-sensitive EWMA of latency.
    case peakEWMA
}

/// Settings every stripe shares, stored in the ledger's header.
@usableFromInline
struct LedgerHeader {
    @usableFromInline let stripeCount: Int
    @usableFromInline let stride: Int
    @usableFromInline let loadOffset: Int
    @usableFromInline let mode: LoadMode
    /// Peak-EWMA's decay time constant in nanoseconds.
    @usableFromInline let tau: Double
    /// Peak-EWMA's estimate for an endpoint not yet measured, in nanoseconds.
    @usableFromInline let penalty: Double
    @usableFromInline let clock: BalancerClock
}

/// A handle on the pick stripes' raw memory that leases keep, so that they can report back
/// without holding a reference (a retain and release per pick on a shared object cost more
/// than the pick itself).
///
/// The memory outlives the balancer while leases are outstanding: when the balancer goes, each
/// stripe is marked closed and the count of outstanding leases is kept in the header; the
/// last lease to complete frees it.
@usableFromInline
struct LoadLedger: @unchecked Sendable {
    // @unchecked: the memory is reached only under the stripes' locks (and the header's
    // atomic), as described above.

    /// Header block: the close count (an atomic) at 0, ``LedgerHeader`` at 64.
    @usableFromInline static let headerSize = 128

    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let measuresLatency: Bool

    @inlinable
    init(base: UnsafeMutableRawPointer, measuresLatency: Bool) {
        self.base = base
        self.measuresLatency = measuresLatency
    }

    @inlinable
    var header: UnsafeMutablePointer<LedgerHeader> {
        (base + 64).assumingMemoryBound(to: LedgerHeader.self)
    }

    @inlinable
    var closeCount: UnsafeMutablePointer<Atomic<Int>> {
        base.assumingMemoryBound(to: Atomic<Int>.self)
    }

    @inlinable
    func stripe(_ index: Int) -> UnsafeMutableRawPointer {
        base + (Self.headerSize &+ index &* header.pointee.stride)
    }

    @inlinable
    func lock(_ index: Int) -> UnsafeMutablePointer<Atomic<Bool>> {
        stripe(index).assumingMemoryBound(to: Atomic<Bool>.self)
    }

    @inlinable
    func load(_ index: Int) -> UnsafeMutablePointer<LoadState> {
        (stripe(index) + header.pointee.loadOffset).assumingMemoryBound(to: LoadState.self)
    }

    /// Allocates the header and `stripeCount` stripes of `stride` bytes, each with its lock
    /// and load state initialised (the caller initialises the rest of each stripe).
    static func allocate(
        stripeCount: Int, stride: Int, loadOffset: Int, mode: LoadMode, tau: Double, penalty: Double,
        clock: BalancerClock
    ) -> LoadLedger {
        let base = UnsafeMutableRawPointer.allocate(
            byteCount: headerSize + stripeCount * stride, alignment: 128)
        base.bindMemory(to: Atomic<Int>.self, capacity: 1).initialize(to: Atomic(0))
        (base + 64).bindMemory(to: LedgerHeader.self, capacity: 1).initialize(
            to: LedgerHeader(
                stripeCount: stripeCount, stride: stride, loadOffset: loadOffset, mode: mode, tau: tau,
                penalty: penalty, clock: clock))
        let ledger = LoadLedger(base: base, measuresLatency: mode == .peakEWMA)
        for index in 0..<stripeCount {
            ledger.stripe(index).bindMemory(to: Atomic<Bool>.self, capacity: 1).initialize(to: Atomic(false))
            (ledger.stripe(index) + loadOffset).bindMemory(to: LoadState.self, capacity: 1).initialize(
                to: LoadState())
        }
        if mode != .none { clock.retain() }
        return ledger
    }

    /// The balancer is gone (`deinitializeStripe` has already run on each locked stripe's own
    /// state): frees the memory now, or leaves that to the last outstanding lease.
    func close(deinitializeStripe: (Int) -> Void) {
        var outstanding = 0
        for index in 0..<header.pointee.stripeCount {
            Self.acquire(lock(index))
            deinitializeStripe(index)
            load(index).pointee.closed = true
            outstanding += load(index).pointee.leases
            Self.release(lock(index))
        }
        // Leases completing meanwhile have already counted themselves down (below zero).
        if closeCount.pointee.add(outstanding, ordering: .acquiringAndReleasing).newValue == 0 { free() }
    }

    @usableFromInline
    func free() {
        let header = self.header.pointee
        if header.mode != .none { header.clock.release() }
        for index in 0..<header.stripeCount {
            load(index).pointee.loads.deallocate()
            load(index).deinitialize(count: 1)
            lock(index).deinitialize(count: 1)
        }
        self.header.deinitialize(count: 1)
        closeCount.deinitialize(count: 1)
        base.deallocate()
    }

    /// Where a stripe's ``LoadState`` starts: after its lock, aligned.
    @usableFromInline static let loadOffset = max(
        MemoryLayout<LoadState>.alignment, MemoryLayout<Atomic<Bool>>.stride)

    /// A lease completed (`outcome` nil: dropped): no longer outstanding, and for peak-EWMA
    /// its latency goes into the estimate. Inlined for the common case (the set unchanged
    /// since the pick, the balancer alive).
    @inlinable
    func finish(_ ticket: LeaseTicket, address: String, outcome: LeaseOutcome?, latency: Duration?) {
        let lock = ticket.stripe.assumingMemoryBound(to: Atomic<Bool>.self)
        let state = (ticket.stripe + Self.loadOffset).assumingMemoryBound(to: LoadState.self)
        Self.acquire(lock)
        guard _fastPath(!state.pointee.closed && state.pointee.generation == ticket.generation) else {
            finishSlow(ticket, address: address, outcome: outcome, latency: latency)
            return
        }
        state.pointee.leases &-= 1
        state.pointee.loads[ticket.index].outstanding &-= 1
        if measuresLatency, outcome != nil {
            observe(&state.pointee.loads[ticket.index], ticket, latency)
        }
        Self.release(lock)
    }

    /// The latency into peak-EWMA's estimate: the caller's, or the clock's since the pick.
    @inlinable @inline(__always)
    func observe(_ load: inout EndpointLoad, _ ticket: LeaseTicket, _ latency: Duration?) {
        let now = max(header.pointee.clock.nanoseconds, ticket.stamp)
        let rtt = latency.map(\.fastNanoseconds) ?? Double(now &- ticket.stamp)
        Self.observe(&load, rtt: rtt, now: now, tau: header.pointee.tau)
    }

    /// ``finish(_:address:outcome:latency:)`` with the stripe's lock held, when the set has
    /// changed since the pick (the endpoint is found by address, if still there) or the
    /// balancer is gone (the last lease frees the memory).
    @usableFromInline @inline(never)
    func finishSlow(_ ticket: LeaseTicket, address: String, outcome: LeaseOutcome?, latency: Duration?) {
        let lock = ticket.stripe.assumingMemoryBound(to: Atomic<Bool>.self)
        let state = (ticket.stripe + Self.loadOffset).assumingMemoryBound(to: LoadState.self)
        state.pointee.leases -= 1
        let closed = state.pointee.closed
        if !closed, let position = state.pointee.positions[address] {
            state.pointee.loads[position].outstanding = max(0, state.pointee.loads[position].outstanding - 1)
            if measuresLatency, outcome != nil { observe(&state.pointee.loads[position], ticket, latency) }
        }
        Self.release(lock)
        if closed, closeCount.pointee.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { free() }
    }

    /// Finagle's peak-EWMA step: a latency above the estimate replaces it; one below pulls it
    /// down by how much time has passed (an EWMA over an unevenly spaced series).
    @inlinable
    static func observe(_ load: inout EndpointLoad, rtt: Double, now: UInt64, tau: Double) {
        let elapsed = now > load.stamp ? now - load.stamp : 0
        if rtt > load.cost {
            load.cost = rtt
        } else if elapsed > 0 {
            let w = exp(-Double(elapsed) / tau)
            load.cost = load.cost * w + rtt * (1 - w)
        }
        if now > load.stamp { load.stamp = now }
    }

    /// Peak-EWMA's cost of one more request on `load`: its estimate decayed to `now` (so an
    /// endpoint not heard from for a while is tried again), times outstanding requests + 1.
    @inlinable @inline(__always)
    static func peakCost(_ load: inout EndpointLoad, now: UInt64, tau: Double) -> Double {
        if _slowPath(now > load.stamp) {
            load.cost *= exp(-Double(now - load.stamp) / tau)
            load.stamp = now
        }
        return load.cost * Double(load.outstanding &+ 1)
    }

    /// Re-lays a stripe's loads out for a new set of `addresses`, keeping what it knew about
    /// the endpoints that stay; a new endpoint starts with no requests and the penalty.
    @usableFromInline @inline(never)
    static func relayout(
        _ state: inout LoadState, addresses: [String], generation: UInt64, now: UInt64, penalty: Double
    ) {
        let loads = UnsafeMutablePointer<EndpointLoad>.allocate(capacity: max(1, addresses.count))
        var positions: [String: Int] = [:]
        positions.reserveCapacity(addresses.count)
        for (index, address) in addresses.enumerated() {
            positions[address] = index
            if let old = state.positions[address] {
                (loads + index).initialize(to: state.loads[old])
            } else {
                (loads + index).initialize(to: EndpointLoad(outstanding: 0, cost: penalty, stamp: now))
            }
        }
        state.loads.deallocate()
        state.loads = loads
        state.count = addresses.count
        state.positions = positions
        state.generation = generation
    }

    /// Takes a stripe lock: one exchange when free; when contended, spin a little, then yield
    /// the processor between tries.
    @inlinable @inline(__always)
    static func acquire(_ lock: UnsafeMutablePointer<Atomic<Bool>>) {
        if _slowPath(lock.pointee.exchange(true, ordering: .acquiring)) { acquireSlow(lock) }
    }

    @inlinable @inline(__always)
    static func release(_ lock: UnsafeMutablePointer<Atomic<Bool>>) {
        lock.pointee.store(false, ordering: .releasing)
    }

    @usableFromInline @inline(never)
    static func acquireSlow(_ lock: UnsafeMutablePointer<Atomic<Bool>>) {
        var spins = 0
        while true {
            if !lock.pointee.load(ordering: .relaxed), !lock.pointee.exchange(true, ordering: .acquiring) {
                return
            }
            spins += 1
            if spins > 64 { sched_yield() }
        }
    }
}
