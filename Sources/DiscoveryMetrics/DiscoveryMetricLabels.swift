/// The names of the metrics this module reports, after Prometheus' naming rules (a `sd_`
/// namespace, the unit or `_total` at the end) as swift-prometheus exports them; every one
/// carries the dimensions `backend` and `service`.
public enum DiscoveryMetricLabels {
    /// Gauge: instances in the instancer's last good set.
    public static let instances = "sd_instancer_instances"
    /// Counter: events the instancer delivered (sets and failures).
    public static let instancerEvents = "sd_instancer_events_total"
    /// Counter: failure events.
    public static let instancerErrors = "sd_instancer_errors_total"
    /// Gauge: seconds since the backend last delivered a set (the last good set's age); grows
    /// through an outage. Absent until the first set.
    public static let lastSetAge = "sd_instancer_last_set_age_seconds"
    /// Counter: registrations that succeeded (the first and each one after a deregistration).
    public static let registrations = "sd_registrar_registrations_total"
    /// Counter: register calls that failed.
    public static let registrationFailures = "sd_registrar_registration_failures_total"
    /// Counter: registrations lost by the backend and put back by the registrar.
    public static let restorations = "sd_registrar_restorations_total"
    /// Gauge: 1 while registered, 0 otherwise.
    public static let registered = "sd_registrar_registered"
    /// Counter: endpoint factory calls that failed (retried later).
    public static let factoryFailures = "sd_endpointer_factory_failures_total"
    /// Counter: times every endpoint was closed because discovery failed too long.
    public static let invalidations = "sd_endpointer_invalidations_total"
}
