import Discovery
import Logging

/// Watches a ``FileServiceDirectory`` with inotify and publishes its live registrations.
///
/// The initial set is read before the initializer returns, so a subscriber's first event is
/// immediate. After that, each inotify event re-reads only the entry it names. The death of a
/// registering process shows up as `IN_CLOSE_WRITE` on its entry (the kernel closes its files),
/// at which point the entry's lock is free and the entry is dropped and removed. A queue
/// overflow or a lost directory leads to a full rescan; failures become error events followed
/// by backoff and another try, for as long as the instancer lives.
public final class FileInstancer: CoreBackedInstancer {
    public let directory: FileServiceDirectory
    public let core: InstancerCore

    public convenience init(
        directory: FileServiceDirectory,
        logger: Logger = DiscoveryLogging.disabled
    ) {
        let logger = logger.forBackend("file")
        self.init(directory: directory, logger: logger, beforeInstallingWatch: nil)
    }

    /// `beforeInstallingWatch` runs in every start between making the watch and installing it:
    /// tests stop the instancer there, the window a stop() could land in.
    init(directory: FileServiceDirectory, logger: Logger, beforeInstallingWatch: (@Sendable () -> Void)?) {
        self.directory = directory
        let cache = InstanceCache()
        let watch = DirectoryWatch(
            directory: directory, cache: cache, logger: logger, beforeInstallingWatch: beforeInstallingWatch)
        core = InstancerCore(cache: cache, onStop: { watch.stop() })
        watch.begin()
    }
}
