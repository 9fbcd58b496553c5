import Logging

/// How the toolkit logs, as swift-log asks of libraries: a logger is passed in (the default
/// drops everything); what a record is about goes in metadata, under the `sd.` namespace, and
/// not into the message; the backend is the metadata `sd.backend`, not a prefix of the message.
public enum DiscoveryLogging {
    /// The logger that drops everything: the default of every `logger:` parameter.
    public static let disabled = Logger(label: "sd", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The metadata key naming the backend a record comes from (`etcd`, `consul`, ...).
    public static let backendKey = "sd.backend"
}

extension Logger {
    /// This logger with every record marked as coming from `backend`.
    package func forBackend(_ backend: String) -> Logger {
        var logger = self
        logger[metadataKey: DiscoveryLogging.backendKey] = .string(backend)
        return logger
    }
}
