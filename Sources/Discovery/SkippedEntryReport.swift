import Logging
import Synchronization

/// Reports the entries a backend skips because they fit no layout it reads: the first as a
/// warning (on sdctl's stderr by default), each later one at debug level (`-v`), so that none is
/// dropped in silence and a path full of foreign data does not flood the terminal.
package final class SkippedEntryReport: Sendable {
    private let count = Atomic<Int>(0)
    /// What is skipped, plural: "children", "keys".
    private let entries: String

    package init(entries: String) {
        self.entries = entries
    }

    package func skipped(_ metadata: Logger.Metadata, logger: Logger) {
        if count.wrappingAdd(1, ordering: .relaxed).newValue == 1 {
            logger.warning("skipping \(entries) that fit no layout (-v shows each)", metadata: metadata)
        } else {
            logger.debug("skipping one of the \(entries) that fit no layout", metadata: metadata)
        }
    }
}
