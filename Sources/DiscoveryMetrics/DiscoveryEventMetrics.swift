import CoreMetrics
import Discovery
import Logging
import Synchronization

/// A swift-log handler that counts the events the library marks in its log
/// (`Discovery/DiscoveryLogEvent`, metadata key `sd.event`) as metrics, and hands every
/// record on to the handler it wraps:
///
/// | event | metric |
/// | --- | --- |
/// | `registration-restored` | ``DiscoveryMetricLabels/restorations`` |
/// | `endpoint-factory-failed` | ``DiscoveryMetricLabels/factoryFailures`` |
/// | `endpoints-invalidated` | ``DiscoveryMetricLabels/invalidations`` |
///
/// The `backend` dimension comes from the logger's `sd.backend` metadata (every backend sets
/// it), `service` from `sd.service` (set it on the logger you give a registrar or endpointer:
/// `logger[metadataKey: "sd.service"] = "web"`), empty when absent.
///
/// The events are logged at `notice` or `warning`; so that a quieter wrapped handler does not
/// hide them from the count, this handler lets `notice` and above through to itself and hands
/// on only what the wrapped handler's level admits.
public struct DiscoveryEventMetrics: LogHandler {
    private var wrapped: any LogHandler
    private let counters: Counters

    /// Wraps `handler`: `Logger(label: "web") { DiscoveryEventMetrics(wrapping: StreamLogHandler.standardError(label: $0)) }`.
    public init(wrapping handler: any LogHandler, factory: any MetricsFactory = MetricsSystem.factory) {
        wrapped = handler
        counters = Counters(factory: factory)
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    /// The lower of the wrapped handler's level and `notice`, so that the events reach the count.
    public var logLevel: Logger.Level {
        get { min(wrapped.logLevel, .notice) }
        set { wrapped.logLevel = newValue }
    }

    public func log(event: LogEvent) {
        if case .string(let name)? = event.metadata?[DiscoveryLogEvent.key],
            let label = Self.labels[name]
        {
            var backend = ""
            var service = ""
            if case .string(let value)? = event.metadata?[DiscoveryLogging.backendKey]
                ?? wrapped[metadataKey: DiscoveryLogging.backendKey]
            {
                backend = value
            }
            if case .string(let value)? = event.metadata?["sd.service"] ?? wrapped[metadataKey: "sd.service"]
            {
                service = value
            }
            counters.counter(label, backend: backend, service: service).increment()
        }
        if event.level >= wrapped.logLevel { wrapped.log(event: event) }
    }

    static let labels: [String: String] = [
        DiscoveryLogEvent.registrationRestored.rawValue: DiscoveryMetricLabels.restorations,
        DiscoveryLogEvent.endpointFactoryFailed.rawValue: DiscoveryMetricLabels.factoryFailures,
        DiscoveryLogEvent.endpointsInvalidated.rawValue: DiscoveryMetricLabels.invalidations,
    ]

    /// One counter per label and dimensions, made once and kept.
    private final class Counters: Sendable {
        private let factory: any MetricsFactory
        private let made = Mutex<[String: Counter]>([:])

        init(factory: any MetricsFactory) { self.factory = factory }

        func counter(_ label: String, backend: String, service: String) -> Counter {
            let key = "\(label)\u{0}\(backend)\u{0}\(service)"
            return made.withLock { made in
                if let counter = made[key] { return counter }
                let counter = Counter(
                    label: label, dimensions: [("backend", backend), ("service", service)], factory: factory)
                made[key] = counter
                return counter
            }
        }
    }
}
