import Discovery

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
    @inlinable @inline(__always)
    func leaseOfTwo(avoiding address: String?, peak: Bool) throws(DiscoveryError) -> Lease<Source.Endpoint> {
        try withCurrentLoads { state, loads, stripe in
            let (index, now) = chooseOfTwo(&state, &loads, avoiding: address, peak: peak)
            loads.loads[index].outstanding &+= 1
            loads.leases &+= 1
            return Lease(
                address: state.addresses[index], endpoint: state.endpoints[index], ledger: ledger,
                ticket: LeaseTicket(stripe: stripe, index: index, generation: loads.generation, stamp: now))
        }
    }
}
