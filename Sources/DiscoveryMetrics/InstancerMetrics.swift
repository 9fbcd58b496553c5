import CoreMetrics
import Discovery
import ServiceLifecycle
import Synchronization

/// Reports one instancer's state as metrics: its instance count, the events and failures it
/// delivers, and the age of its last good set. A `Service`: `run()` subscribes and reports
/// until it is cancelled, graceful shutdown comes, or the instancer stops.
///
/// It is one more subscriber of the instancer, off the pick path: balancers never touch it.
/// Like every subscriber it may miss intermediate states when it falls behind (it never does in
/// practice: it only records numbers), so the event counter counts deliveries to it.
public final class InstancerMetrics: Service {
    private let instancer: any Instancer
    private let ageInterval: Duration
    private let instances: Gauge
    private let events: Counter
    private let errors: Counter
    private let age: Gauge

    /// - Parameters:
    ///   - instancer: the instancer to report.
    ///   - backend: the `backend` dimension (`zookeeper`, `etcd`, ...).
    ///   - service: the `service` dimension: the service the instancer watches.
    ///   - ageInterval: how often the last set's age is recorded between events.
    ///   - factory: where the metrics go; swift-metrics' bootstrapped factory by default.
    public init(
        _ instancer: any Instancer, backend: String, service: String, ageInterval: Duration = .seconds(1),
        factory: any MetricsFactory = MetricsSystem.factory
    ) {
        precondition(ageInterval > .zero)
        self.instancer = instancer
        self.ageInterval = ageInterval
        let dimensions = [("backend", backend), ("service", service)]
        instances = Gauge(label: DiscoveryMetricLabels.instances, dimensions: dimensions, factory: factory)
        events = Counter(
            label: DiscoveryMetricLabels.instancerEvents, dimensions: dimensions, factory: factory)
        errors = Counter(
            label: DiscoveryMetricLabels.instancerErrors, dimensions: dimensions, factory: factory)
        age = Gauge(label: DiscoveryMetricLabels.lastSetAge, dimensions: dimensions, factory: factory)
    }

    public func run() async {
        let clock = ContinuousClock()
        let lastSet = LastSet()
        await cancelWhenGracefulShutdown { [self] in
            await withDiscardingTaskGroup { group in
                group.addTask { [self] in
                    while (try? await Task.sleep(for: ageInterval)) != nil {
                        if let at = lastSet.at { age.record(Self.seconds(clock.now - at)) }
                    }
                }
                for await event in instancer.subscribe() {
                    events.increment()
                    switch event {
                    case .instances(let set):
                        lastSet.at = clock.now
                        instances.record(set.count)
                        age.record(0)
                    case .failure:
                        errors.increment()
                    }
                }
                group.cancelAll()
            }
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// When the last set came; written by the subscription loop, read by the age loop.
private final class LastSet: Sendable {
    private let instant = Mutex<ContinuousClock.Instant?>(nil)
    var at: ContinuousClock.Instant? {
        get { instant.withLock { $0 } }
        set { instant.withLock { $0 = newValue } }
    }
}
