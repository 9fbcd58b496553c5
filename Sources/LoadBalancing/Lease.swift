/// One picked endpoint, held for the length of the call made to it.
///
/// Load-aware balancers (``LeastLoadedBalancer``, ``PeakEWMABalancer``) count a lease as an
/// outstanding request until it is completed, and learn the call's latency from it; outlier
/// ejection counts its failures. ``Retry`` completes the leases it takes. A lease that is
/// dropped without ``complete(_:latency:)`` is counted as done (no longer outstanding) but
/// neither as a success nor a failure, so a forgotten or cancelled call leaks nothing.
///
/// A lease is not copyable: it is completed once. Taking and completing one allocates nothing.
public struct Lease<Endpoint: Sendable>: ~Copyable, Sendable {
    /// The address of the instance the endpoint was made for.
    public let address: String
    /// The endpoint to call.
    public let endpoint: Endpoint
    /// The balancer's per-stripe load records, when it keeps any.
    @usableFromInline var ledger: LoadLedger?
    /// Where it was taken, when there is a ledger to report to.
    @usableFromInline let ticket: LeaseTicket?
    /// Outlier ejection's view of outcomes, when the balancer is wrapped in it.
    @usableFromInline var observer: (any LeaseObserver)?

    /// A lease that reports to nobody: what balancers without load state hand out.
    @inlinable
    public init(address: String, endpoint: Endpoint) {
        self.address = address
        self.endpoint = endpoint
        self.ledger = nil
        self.ticket = nil
        self.observer = nil
    }

    @inlinable
    init(address: String, endpoint: Endpoint, ledger: LoadLedger?, ticket: LeaseTicket) {
        self.address = address
        self.endpoint = endpoint
        self.ledger = ledger
        self.ticket = ticket
        self.observer = nil
    }

    /// Whether the balancer learns from latencies: when it does, pass the call's measured
    /// latency to ``complete(_:latency:)`` (otherwise the balancer takes its own clock's
    /// reading, which has a resolution of about a millisecond).
    @inlinable
    public var measuresLatency: Bool { ledger?.measuresLatency ?? false }

    /// Reports how the call ended; `latency` is the call's duration as the caller measured it.
    @inlinable
    public consuming func complete(_ outcome: LeaseOutcome, latency: Duration? = nil) {
        if let ledger, let ticket {
            ledger.finish(ticket, address: address, outcome: outcome, latency: latency)
            self.ledger = nil
        }
        if let observer {
            observer.observe(address: address, outcome: outcome)
            self.observer = nil
        }
    }

    @inlinable
    deinit {
        // Dropped without an outcome: no longer outstanding, and judged neither way.
        if let ledger, let ticket { ledger.finish(ticket, address: address, outcome: nil, latency: nil) }
    }
}

/// Where a lease was taken: the stripe's memory, the endpoint's position in that stripe's
/// set, the set's generation (to find the endpoint again if the set changed meanwhile) and
/// the clock.
@usableFromInline
struct LeaseTicket: @unchecked Sendable {
    // @unchecked: `stripe` is only touched under the stripe's lock (LoadLedger).
    @usableFromInline var stripe: UnsafeMutableRawPointer
    @usableFromInline var index: Int
    @usableFromInline var generation: UInt64
    /// The balancer clock's reading at the pick, in nanoseconds.
    @usableFromInline var stamp: UInt64

    @inlinable
    init(stripe: UnsafeMutableRawPointer, index: Int, generation: UInt64, stamp: UInt64) {
        self.stripe = stripe
        self.index = index
        self.generation = generation
        self.stamp = stamp
    }
}

/// Something that watches leases complete (outlier ejection).
@usableFromInline
protocol LeaseObserver: AnyObject, Sendable {
    func observe(address: String, outcome: LeaseOutcome)
}
