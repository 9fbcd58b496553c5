import Discovery

#if canImport(Glibc)
    import Glibc
#endif

/// A discrete-event simulation of clients calling a set of endpoints through a balancer, in
/// simulated time: to see what a balancer does with endpoints of mixed latencies without
/// running servers (`sdctl bench balancer` prints it; the balancer tests assert on it).
///
/// Requests arrive at a steady rate (exponentially distributed gaps). Each endpoint serves
/// `concurrency` requests at a time, each taking an exponentially distributed time around its
/// `meanLatency`, and queues the rest in order; a request's latency is its wait plus its
/// service. Every request takes a ``Lease`` and completes it with that latency, and the
/// ``BalancerClock`` handed to the balancer (a manual one) follows simulated time. With a fixed
/// seed, a run is the same every time.
public struct BalancerSimulation: Sendable {
    public struct SimulatedEndpoint: Sendable {
        public var address: String
        public var meanLatency: Duration
        public var concurrency: Int

        public init(address: String, meanLatency: Duration, concurrency: Int = 4) {
            precondition(concurrency >= 1, "concurrency must be at least 1")
            self.address = address
            self.meanLatency = meanLatency
            self.concurrency = concurrency
        }
    }

    public struct Report: Sendable {
        /// Requests sent to each endpoint, in the order the endpoints were given.
        public var requests: [Int]
        /// Every request's latency in nanoseconds, sorted.
        public var latencies: [UInt64]

        /// The latency at quantile `q` (0...1).
        public func latency(atQuantile q: Double) -> Duration {
            guard !latencies.isEmpty else { return .zero }
            let index = min(latencies.count - 1, Int((Double(latencies.count) * q).rounded(.up)) - 1)
            return .nanoseconds(Int64(latencies[max(0, index)]))
        }
    }

    public var endpoints: [SimulatedEndpoint]
    public var requests: Int
    public var requestsPerSecond: Double
    public var seed: UInt64

    public init(endpoints: [SimulatedEndpoint], requests: Int, requestsPerSecond: Double, seed: UInt64 = 1) {
        precondition(!endpoints.isEmpty && requests > 0 && requestsPerSecond > 0)
        self.endpoints = endpoints
        self.requests = requests
        self.requestsPerSecond = requestsPerSecond
        self.seed = seed
    }

    /// Five endpoints of 10 ms mean latency, one of them slow (50 ms), four requests at a time
    /// each: the mix the balancer tests and `sdctl bench balancer` use.
    public static func oneSlowOfFive(requests: Int = 20_000, seed: UInt64 = 1) -> BalancerSimulation {
        BalancerSimulation(
            endpoints: (0..<5).map {
                SimulatedEndpoint(
                    address: "10.0.0.\($0 + 1):8080", meanLatency: .milliseconds($0 == 4 ? 50 : 10))
            },
            requests: requests, requestsPerSecond: 1000, seed: seed)
    }

    /// The endpointer to build the balancer on: endpoint `i` is the integer `i`.
    public var endpointer: FixedEndpointer<Int> {
        FixedEndpointer(
            addressed: endpoints.enumerated().map { (address: $0.element.address, endpoint: $0.offset) })
    }

    /// Runs the requests through `balancer` (built on ``endpointer``), moving `clock` along.
    public func run<B: Balancer>(_ balancer: B, clock: BalancerClock) throws(DiscoveryError) -> Report
    where B.Endpoint == Int {
        var random = SimulationRandom(seed: seed)
        var state = EndpointQueues(endpoints)
        var events = Heap<Event> { $0.time != $1.time ? $0.time < $1.time : $0.sequence < $1.sequence }
        var sequence = 0
        var leases: [LeaseBox] = []
        leases.reserveCapacity(requests)
        var report = Report(requests: Array(repeating: 0, count: endpoints.count), latencies: [])
        report.latencies.reserveCapacity(requests)
        let gap = 1e9 / requestsPerSecond
        var now: UInt64 = 0
        var arrival: UInt64 = 0
        for request in 0..<requests {
            arrival &+= UInt64(random.exponential(mean: gap))
            events.push(Event(time: arrival, sequence: sequence, kind: .arrival(request)))
            sequence += 1
        }
        while let event = events.pop() {
            clock.advance(by: .nanoseconds(Int64(event.time - now)))
            now = event.time
            switch event.kind {
            case .arrival(let request):
                let lease = try balancer.lease()
                let endpoint = lease.endpoint
                leases.append(LeaseBox(lease, arrived: now))
                report.requests[endpoint] += 1
                if state.busy[endpoint] < endpoints[endpoint].concurrency {
                    state.busy[endpoint] += 1
                    events.push(service(request, endpoint, now, &random, &sequence))
                } else {
                    state.waiting[endpoint].append(request)
                }
            case .completion(let request, let endpoint):
                let box = leases[request]
                let latency = now - box.arrived
                box.lease.take()!.complete(.success, latency: .nanoseconds(Int64(latency)))
                report.latencies.append(latency)
                if state.next[endpoint] < state.waiting[endpoint].count {
                    let queued = state.waiting[endpoint][state.next[endpoint]]
                    state.next[endpoint] += 1
                    events.push(service(queued, endpoint, now, &random, &sequence))
                } else {
                    state.busy[endpoint] -= 1
                }
            }
        }
        report.latencies.sort()
        return report
    }

    private func service(
        _ request: Int, _ endpoint: Int, _ now: UInt64, _ random: inout SimulationRandom,
        _ sequence: inout Int
    ) -> Event {
        let mean = Double(endpoints[endpoint].meanLatency.nanosecondsClamped)
        sequence += 1
        return Event(
            time: now + max(1, UInt64(random.exponential(mean: mean))), sequence: sequence,
            kind: .completion(request, endpoint))
    }

    private struct Event {
        enum Kind {
            case arrival(Int)
            case completion(Int, Int)
        }
        var time: UInt64
        var sequence: Int
        var kind: Kind
    }

    private struct EndpointQueues {
        var busy: [Int]
        var waiting: [[Int]]
        var next: [Int]

        init(_ endpoints: [SimulatedEndpoint]) {
            busy = Array(repeating: 0, count: endpoints.count)
            waiting = Array(repeating: [], count: endpoints.count)
            next = Array(repeating: 0, count: endpoints.count)
        }
    }

    /// A lease held until its request completes (leases cannot go in an array themselves).
    private final class LeaseBox {
        var lease: Lease<Int>?
        let arrived: UInt64

        init(_ lease: consuming Lease<Int>, arrived: UInt64) {
            self.lease = consume lease
            self.arrived = arrived
        }
    }
}

/// SplitMix64, for simulations that must be the same on every run.
struct SimulationRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Exponentially distributed with the given mean.
    mutating func exponential(mean: Double) -> Double {
        let uniform = (Double(next() >> 11) + 0.5) / Double(1 << 53)
        return -mean * log(uniform)
    }
}
