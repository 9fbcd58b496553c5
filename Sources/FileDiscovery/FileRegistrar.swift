import Discovery
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Registers one instance in a ``FileServiceDirectory`` for as long as this process lives.
///
/// The registration file stays open and exclusively locked until ``deregister()`` or process
/// exit; watchers treat an unlocked entry as gone, so a killed process (SIGKILL included) drops
/// out of every watcher's set as soon as the kernel closes its files. Registering is safe from
/// many processes at once: a directory lock serializes the check-and-rename, and an id that a
/// live process holds is refused rather than taken over.
public final class FileRegistrar: Registrar, Sendable {
    public let directory: FileServiceDirectory
    public let instance: Instance
    private let logger: Logger
    private let held = Mutex<Int32?>(nil)

    /// - Parameters:
    ///   - instance: what to register; without an id, one is made from the address and a
    ///     random suffix.
    public init(
        directory: FileServiceDirectory, instance: Instance,
        logger: Logger = Logger(label: "sdctl.file", factory: { _ in SwiftLogNoOpLogHandler() })
    )
        throws(DiscoveryError)
    {
        let address = try HostPort(parsing: instance.address)
        var instance = instance
        if let id = instance.id {
            try FileServiceDirectory.validateID(id)
        } else {
            var generator = SystemRandomNumberGenerator()
            let suffix = String(generator.next() & 0xFFFF_FFFF, radix: 16)
            instance.id = "\(address.host)-\(address.port)-\(suffix)"
        }
        self.directory = directory
        self.instance = instance
        self.logger = logger
    }

    /// The registration file's path.
    public var entryPath: String { directory.entryPath(id: instance.id!) }

    public func register() async throws {
        try registerNow()
    }

    /// Registers synchronously; what ``register()`` does.
    public func registerNow() throws(DiscoveryError) {
        try held.withLock { (held: inout Int32?) throws(DiscoveryError) in
            if let fd = held {
                if FileSystem.sameFile(fd, entryPath) { return }
                // Someone removed our entry (`sdctl deregister`); put it back.
                logger.notice(
                    "registration file was removed; registering again",
                    metadata: DiscoveryLogEvent.registrationRestored.metadata(["path": "\(entryPath)"]))
                close(fd)
                held = nil
            }
            held = try createEntry()
        }
    }

    public func deregister() async throws {
        deregisterNow()
    }

    /// Deregisters synchronously; what ``deregister()`` does. Idempotent.
    public func deregisterNow() {
        held.withLock { held in
            guard let fd = held else { return }
            // Remove the name only if it is still our file; then closing drops the lock.
            if FileSystem.sameFile(fd, entryPath) { unlink(entryPath) }
            close(fd)
            held = nil
        }
    }

    deinit {
        deregisterNow()
    }

    private func createEntry() throws(DiscoveryError) -> Int32 {
        try FileSystem.makeDirectories(directory.path)
        let lock = try FileSystem.open(directory.lockPath, O_RDWR | O_CREAT, 0o644)
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw FileSystem.error("cannot lock", directory.lockPath) }
        }
        let final = entryPath
        let existing = open(final, O_RDONLY | O_CLOEXEC)
        if existing >= 0 {
            let live = FileSystem.isLockedByAnother(existing)
            close(existing)
            if live {
                throw DiscoveryError(
                    .alreadyExists,
                    "id '\(instance.id!)' is already registered in \(directory) by a live process")
            }
        }
        var generator = SystemRandomNumberGenerator()
        let temporary = "\(directory.path)/.\(instance.id!).\(String(generator.next(), radix: 16)).tmp"
        let fd = try FileSystem.open(temporary, O_RDWR | O_CREAT | O_EXCL, 0o644)
        do throws(DiscoveryError) {
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { throw FileSystem.error("cannot lock", temporary) }
            let entry = FileEntry(
                instance: instance, id: instance.id!, pid: getpid(), registeredAt: Timestamp.now())
            let bytes: [UInt8]
            do {
                bytes = try entry.encoded()
            } catch {
                throw DiscoveryError(.io, "cannot encode entry: \(error)")
            }
            try FileSystem.writeAll(fd, bytes, path: temporary)
            // Appears under its final name already locked: no reader ever sees it unlocked.
            guard rename(temporary, final) == 0 else { throw FileSystem.error("cannot rename into", final) }
        } catch {
            unlink(temporary)
            close(fd)
            throw error
        }
        logger.debug("registered", metadata: ["path": "\(final)", "address": "\(instance.address)"])
        return fd
    }
}
