import Discovery
import Synchronization

/// The always-shown events (``CLILogHandler/alwaysShown``) that have reached stderr in this
/// run, by their ``DiscoveryLogEvent`` marker.
final class ShownEvents: Sendable {
    private let markers = Mutex<Set<String>>([])

    func insert(_ marker: String) { markers.withLock { _ = $0.insert(marker) } }

    func contains(_ event: DiscoveryLogEvent) -> Bool { markers.withLock { $0.contains(event.rawValue) } }
}
