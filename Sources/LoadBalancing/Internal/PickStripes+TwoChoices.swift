import CDiscoverySupport
import Discovery
import Synchronization

extension PickStripes {
    /// The power of two choices: two distinct endpoints at random, and the cheaper of them by
    /// outstanding requests (or by peak-EWMA cost when `peak`), never `avoiding` when the other
    /// will do. Returns the chosen position and the clock reading it was costed at.
    @inlinable @inline(__always)
    func chooseOfTwo(
        _ state: inout State, _ loads: inout LoadState, avoiding address: String?, peak: Bool
    ) -> (index: Int, now: UInt64) {
        let count = state.endpoints.count
        let now = peak ? clock.nanoseconds : 0
        guard count > 1 else { return (0, now) }
        // Both from one 64-bit draw: the first from its high half, the second from its low
        // half, each by multiply-high (a bias of at most count/2^32).
        let random = RandomBalancer<Source>.next(&state.counter)
        let first = Int(truncatingIfNeeded: ((random >> 32) &* UInt64(count)) >> 32)
        var second = Int(truncatingIfNeeded: ((random & 0xFFFF_FFFF) &* UInt64(count &- 1)) >> 32)
        if second >= first { second &+= 1 }
        let secondIsCheaper: Bool
        if peak {
            let firstCost = LoadLedger.peakCost(&loads.loads[first], now: now, tau: tau)
            let secondCost = LoadLedger.peakCost(&loads.loads[second], now: now, tau: tau)
            secondIsCheaper = secondCost < firstCost
        } else {
            secondIsCheaper = loads.loads[second].outstanding < loads.loads[first].outstanding
        }
        var chosen = secondIsCheaper ? second : first
        if let address, state.addresses[chosen] == address { chosen = secondIsCheaper ? first : second }
        return (chosen, now)
    }

    /// A lease on the cheaper of two: counted outstanding until it completes.
    ///
    /// Written out rather than through ``withCurrentLoads(_:)``: the optimiser kept that
    /// closure call out of line, and on this path it cost a third of the lease.
    @inlinable @inline(__always)
    func leaseOfTwo(avoiding address: String?, peak: Bool) throws(DiscoveryError) -> Lease<Source.Endpoint> {
        let index = Int(truncatingIfNeeded: cds_thread_slot()) & mask
        let lock = self.lock(index)
        let state = self.state(index)
        let loads = self.loadState(index)
        let generation = source.generation
        LoadLedger.acquire(lock)
        if _slowPath(state.pointee.generation != generation || loads.pointee.generation != generation) {
            refreshWithLoads(state, loads, to: generation)
        }
        if _slowPath(state.pointee.endpoints.isEmpty) {
            LoadLedger.release(lock)
            throw Self.noEndpoints(state.pointee.failure)
        }
        let (chosen, now) = chooseOfTwo(&state.pointee, &loads.pointee, avoiding: address, peak: peak)
        loads.pointee.loads[chosen].outstanding &+= 1
        loads.pointee.leases &+= 1
        let lease = Lease(
            address: state.pointee.addresses[chosen], endpoint: state.pointee.endpoints[chosen],
            ledger: ledger,
            ticket: LeaseTicket(
                stripe: UnsafeMutableRawPointer(lock), index: chosen, generation: generation, stamp: now))
        LoadLedger.release(lock)
        return lease
    }
}
