import CoreMetrics
import Discovery
import Synchronization

/// A registrar that reports what the one it wraps does: registrations, failed register calls,
/// and whether it is registered now. Restorations happen inside the wrapped registrar; they
/// are counted from its log by ``DiscoveryEventMetrics``.
///
/// Out of service marking is passed through when the wrapped registrar has it (Eureka's), so a
/// ``MeteredRegistrar`` drains as the registrar it wraps would.
public final class MeteredRegistrar<Wrapped: Registrar>: Registrar {
    public let wrapped: Wrapped
    private let registrations: Counter
    private let failures: Counter
    private let registeredGauge: Gauge
    private let registered = Mutex(false)

    /// - Parameters:
    ///   - wrapped: the registrar to report.
    ///   - backend: the `backend` dimension.
    ///   - service: the `service` dimension.
    ///   - factory: where the metrics go; swift-metrics' bootstrapped factory by default.
    public init(
        _ wrapped: Wrapped, backend: String, service: String,
        factory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.wrapped = wrapped
        let dimensions = [("backend", backend), ("service", service)]
        registrations = Counter(
            label: DiscoveryMetricLabels.registrations, dimensions: dimensions, factory: factory)
        failures = Counter(
            label: DiscoveryMetricLabels.registrationFailures, dimensions: dimensions, factory: factory)
        registeredGauge = Gauge(
            label: DiscoveryMetricLabels.registered, dimensions: dimensions, factory: factory)
        registeredGauge.record(0)
    }

    public var instance: Instance { wrapped.instance }

    public func register() async throws {
        do {
            try await wrapped.register()
        } catch {
            failures.increment()
            throw error
        }
        // Registering again while registered does nothing, and is not counted.
        if registered.withLock({ registered in
            defer { registered = true }
            return !registered
        }) {
            registrations.increment()
            registeredGauge.record(1)
        }
    }

    public func deregister() async throws {
        try await wrapped.deregister()
        registered.withLock { $0 = false }
        registeredGauge.record(0)
    }
}

extension MeteredRegistrar: OutOfServiceRegistrar where Wrapped: OutOfServiceRegistrar {
    public func markOutOfService() async throws {
        try await wrapped.markOutOfService()
    }
}
