import Logging

/// Events a library logs that a program may want to show even when it shows little else,
/// marked with the metadata key ``key``. `sdctl` shows these on stderr without `-v`.
public enum DiscoveryLogEvent: String, Sendable {
    /// A registration vanished behind the registrar's back and was put back.
    case registrationRestored = "registration-restored"
    /// A registration's name was taken by another host and the registrar took a new one (mDNS,
    /// RFC 6762 section 9): the instance's id changed.
    case registrationRenamed = "registration-renamed"
    /// The backend answered that the service has no instances, and why (a DNS NXDOMAIN, an
    /// empty answer); logged when the reason changes.
    case noInstances = "no-instances"
    /// An endpoint factory failed for an instance; it is tried again later (``EndpointCache``).
    case endpointFactoryFailed = "endpoint-factory-failed"
    /// Discovery failed for longer than `invalidateOnError`: every endpoint was closed
    /// (``EndpointCache``).
    case endpointsInvalidated = "endpoints-invalidated"

    /// The metadata key that carries the event.
    public static let key = "sd.event"

    /// Metadata marking a record as this event, plus `fields`.
    public func metadata(_ fields: Logger.Metadata = [:]) -> Logger.Metadata {
        fields.merging([Self.key: .string(rawValue)]) { _, marker in marker }
    }
}
