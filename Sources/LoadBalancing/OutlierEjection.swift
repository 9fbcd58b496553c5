import Discovery
import Synchronization

/// Outlier ejection: an `Endpointer` that leaves out endpoints that keep failing, for a
/// while. Build any balancer over it and wrap that in ``OutlierEjectingBalancer`` so that it
/// sees how each leased call ended.
///
/// - `consecutiveFailures` failures in a row (Envoy's `consecutive_5xx`, 5) eject an endpoint;
///   a success in between starts the count again.
/// - The n-th ejection of an endpoint lasts `n × baseInterval` (30 s), at most
///   `maximumInterval` (300 s); after it the endpoint is back. For each `baseInterval` it then
///   stays in, its count of ejections goes down by one.
/// - At most `maximumEjectedShare` of the set (10 %) is out at once, rounded down, but one
///   endpoint may always be ejected when the set has two or more: an endpoint that fails
///   beyond the cap stays in.
/// - What it knows of an endpoint is forgotten when the endpoint leaves the source's set (an
///   endpoint that comes back starts afresh, as Envoy's do), and a call to an endpoint that has
///   left counts for nothing: a departed endpoint never holds a place under the cap.
public final class OutlierEjection<Source: Endpointer>: Endpointer, LeaseObserver {
    public typealias Endpoint = Source.Endpoint

    public struct Configuration: Sendable {
        public var consecutiveFailures: Int
        public var baseInterval: Duration
        public var maximumInterval: Duration
        public var maximumEjectedShare: Double

        public init(
            consecutiveFailures: Int = 5, baseInterval: Duration = .seconds(30),
            maximumInterval: Duration = .seconds(300), maximumEjectedShare: Double = 0.1
        ) {
            precondition(consecutiveFailures >= 1, "consecutiveFailures must be at least 1")
            precondition(baseInterval > .zero, "baseInterval must be positive")
            self.consecutiveFailures = consecutiveFailures
            self.baseInterval = baseInterval
            self.maximumInterval = max(maximumInterval, baseInterval)
            self.maximumEjectedShare = min(max(maximumEjectedShare, 0), 1)
        }
    }

    private struct Record {
        var failures = 0
        var ejections = 0
        /// When the endpoint comes back (clock nanoseconds); nil while it is in.
        var ejectedUntil: UInt64?
        /// When it last came back, for lowering `ejections`.
        var returned: UInt64 = 0
    }

    public let source: Source
    public let configuration: Configuration
    private let clock: BalancerClock
    private let records = Mutex([String: Record]())
    /// Bumped on every ejection and return: part of ``generation``.
    private let epoch = Atomic<UInt64>(0)
    /// The earliest return still to come (clock nanoseconds), or UInt64.max.
    private let nextReturn = Atomic<UInt64>(.max)
    /// How many endpoints have failures counted: a success needs the lock only when some do.
    private let failing = Atomic<Int>(0)
    /// The source generation ``records`` were last pruned against.
    private let prunedGeneration = Atomic<UInt64>(.max)

    public init(
        _ source: Source, configuration: Configuration = Configuration(), clock: BalancerClock = .shared
    ) {
        self.source = source
        self.configuration = configuration
        self.clock = clock
        clock.retain()
    }

    deinit { clock.release() }

    public var generation: UInt64 {
        if _slowPath(clock.nanoseconds >= nextReturn.load(ordering: .relaxed)) { returnDue() }
        return source.generation &+ epoch.load(ordering: .acquiring) &* 0x9E37_79B9_7F4A_7C15
    }

    /// The source's endpoints without the ejected ones.
    public func snapshot() -> EndpointSnapshot<Endpoint> {
        prune()
        let snapshot = source.snapshot()
        let ejected = records.withLock { records in
            Set(records.compactMap { $0.value.ejectedUntil == nil ? nil : $0.key })
        }
        guard !ejected.isEmpty else { return snapshot }
        var addresses: [String] = []
        var endpoints: [Endpoint] = []
        var preferences: [EndpointPreference] = []
        for index in 0..<snapshot.count where !ejected.contains(snapshot.addresses[index]) {
            addresses.append(snapshot.addresses[index])
            endpoints.append(snapshot.endpoints[index])
            if !snapshot.preferences.isEmpty { preferences.append(snapshot.preferences[index]) }
        }
        return EndpointSnapshot(
            addresses: addresses, endpoints: endpoints, preferences: preferences, failure: snapshot.failure)
    }

    /// The addresses ejected now.
    public var ejected: [String] {
        _ = generation  // returns any that are due
        prune()
        return records.withLock { records in
            records.compactMap { $0.value.ejectedUntil == nil ? nil : $0.key }
        }
        .sorted()
    }

    @usableFromInline
    func observe(address: String, outcome: LeaseOutcome) {
        switch outcome {
        case .success:
            guard failing.load(ordering: .relaxed) > 0 else { return }
            records.withLock { records in
                if let failures = records[address]?.failures, failures > 0 {
                    records[address]!.failures = 0
                    failing.subtract(1, ordering: .relaxed)
                }
            }
        case .failure:
            recordFailure(address)
        }
    }

    /// How many endpoints it keeps a record of: the current set's at most.
    var recordCount: Int { records.withLock { $0.count } }

    private func recordFailure(_ address: String) {
        prune()
        let snapshot = source.snapshot()
        // A call that ended after its endpoint left the set says nothing about the set.
        guard Self.contains(snapshot.addresses, address) else { return }
        let now = clock.nanoseconds
        let base = configuration.baseInterval.nanosecondsClamped
        records.withLock { records in
            var record = records[address] ?? Record()
            guard record.ejectedUntil == nil else { return }  // a call that was under way
            if record.failures == 0 { failing.add(1, ordering: .relaxed) }
            record.failures += 1
            if record.failures >= configuration.consecutiveFailures, mayEject(records, among: snapshot.count)
            {
                // Time in since the last return lowers the count, one per base interval.
                if record.ejections > 0, now > record.returned {
                    record.ejections = max(0, record.ejections - Int((now - record.returned) / base))
                }
                record.ejections += 1
                let interval = min(
                    base.multipliedReportingOverflow(by: UInt64(record.ejections)).partialValue,
                    configuration.maximumInterval.nanosecondsClamped)
                let until = now &+ interval
                record.ejectedUntil = until
                record.failures = 0
                failing.subtract(1, ordering: .relaxed)
                if until < nextReturn.load(ordering: .relaxed) { nextReturn.store(until, ordering: .relaxed) }
                epoch.add(1, ordering: .releasing)
            }
            records[address] = record
        }
    }

    /// Whether one more may go: the cap is the share of the source's set, at least one.
    private func mayEject(_ records: [String: Record], among count: Int) -> Bool {
        guard count >= 2 else { return false }
        let out = records.values.count { $0.ejectedUntil != nil }
        return out < max(1, Int(Double(count) * configuration.maximumEjectedShare))
    }

    /// Forgets the endpoints that are no longer in the source's set, once per source generation.
    private func prune() {
        let generation = source.generation
        guard prunedGeneration.load(ordering: .acquiring) != generation else { return }
        let snapshot = source.snapshot()  // as new as `generation`, or newer
        // A failed discovery empties the snapshot without the instances having gone: keep what
        // is known until the next real set.
        guard snapshot.failure == nil else { return }
        records.withLock { records in
            var removedEjected = false
            for (address, record) in records where !Self.contains(snapshot.addresses, address) {
                if record.ejectedUntil != nil { removedEjected = true }
                records[address] = nil
            }
            failing.store(records.values.count { $0.failures > 0 }, ordering: .relaxed)
            if removedEjected { epoch.add(1, ordering: .releasing) }
        }
        prunedGeneration.store(generation, ordering: .releasing)
    }

    /// Whether sorted `addresses` holds `address`.
    private static func contains(_ addresses: [String], _ address: String) -> Bool {
        var low = 0
        var high = addresses.count
        while low < high {
            let middle = (low + high) / 2
            if addresses[middle] < address { low = middle + 1 } else { high = middle }
        }
        return low < addresses.count && addresses[low] == address
    }

    private func returnDue() {
        let now = clock.nanoseconds
        records.withLock { records in
            var next = UInt64.max
            var changed = false
            for (address, record) in records {
                guard let until = record.ejectedUntil else { continue }
                if until <= now {
                    records[address]!.ejectedUntil = nil
                    records[address]!.returned = now
                    changed = true
                } else {
                    next = min(next, until)
                }
            }
            nextReturn.store(next, ordering: .relaxed)
            if changed { epoch.add(1, ordering: .releasing) }
        }
    }
}
