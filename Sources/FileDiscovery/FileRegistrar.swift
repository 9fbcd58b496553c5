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
///
/// The directory lock is only ever tried, never waited for on a thread: ``register()`` tries
/// again every few milliseconds and ends when its task is cancelled, so a process that holds
/// the lock (or a stuck one) costs a caller its timeout, not a frozen thread.
///
/// While registered, a keeper checks every `checkInterval` that the entry is still the one
/// this registrar holds; when it is gone (`sdctl deregister`, a hand-made `rm`), it is put back
/// and the restoration is logged, as the other backends restore a lost registration.
public final class FileRegistrar: Registrar, Sendable {
    public let directory: FileServiceDirectory
    public let instance: Instance
    private let logger: Logger
    private let state = Mutex(State())
    /// How often the keeper checks the entry.
    let checkInterval: Duration

    private struct State {
        /// The open, locked entry while registered.
        var held: Int32?
        var keeper: Task<Void, Never>?
    }

    /// The directory lock was held by another process: try again later.
    struct LockBusy: Error {}

    /// - Parameters:
    ///   - instance: what to register; without an id, one is made from the address and a
    ///     random suffix.
    ///   - directory: the service's directory.
    ///   - logger: where restorations and failures are logged.
    public convenience init(
        directory: FileServiceDirectory, instance: Instance,
        logger: Logger = DiscoveryLogging.disabled
    )
        throws(DiscoveryError)
    {
        let logger = logger.forBackend("file")
        try self.init(
            directory: directory, instance: instance, logger: logger, checkInterval: .milliseconds(250))
    }

    init(directory: FileServiceDirectory, instance: Instance, logger: Logger, checkInterval: Duration)
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
        self.checkInterval = checkInterval
    }

    /// The registration file's path.
    public var entryPath: String { directory.entryPath(id: instance.id!) }

    /// Registers, waiting for the directory lock as long as it is held by another process and
    /// the calling task is not cancelled (cancellation throws `CancellationError`).
    public func register() async throws {
        var pause = Duration.milliseconds(2)
        while true {
            do {
                try attempt()
                break
            } catch is LockBusy {
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(50))
            }
        }
        startKeeper()
    }

    /// Registers synchronously, trying the directory lock for at most `lockWait` (the thread
    /// sleeps meanwhile); what ``register()`` does, for callers without a task.
    public func registerNow(lockWait: Duration = .seconds(10)) throws(DiscoveryError) {
        let deadline = ContinuousClock.now + lockWait
        while true {
            do {
                try attempt()
                startKeeper()
                return
            } catch let error as DiscoveryError {
                throw error
            } catch {
                guard ContinuousClock.now < deadline else {
                    throw DiscoveryError(
                        .timedOut, "\(directory.lockPath) stayed locked by another process for \(lockWait)")
                }
                usleep(5_000)
            }
        }
    }

    /// One try: `LockBusy` when another process holds the directory lock.
    private func attempt() throws {
        try state.withLock { state in
            if let fd = state.held {
                if FileSystem.sameFile(fd, entryPath) { return }
                state.held = try restore(fd)
                return
            }
            state.held = try createEntry()
        }
    }

    /// Puts back an entry that vanished while `fd` still held it, and says so.
    private func restore(_ fd: Int32) throws -> Int32 {
        let fresh = try createEntry()
        close(fd)
        logger.notice(
            "registration file was removed; registered again",
            metadata: DiscoveryLogEvent.registrationRestored.metadata(["sd.path": "\(entryPath)"]))
        return fresh
    }

    public func deregister() async throws {
        deregisterNow()
    }

    /// Deregisters synchronously; what ``deregister()`` does. Idempotent.
    public func deregisterNow() {
        let keeper = state.withLock { state -> Task<Void, Never>? in
            defer { state.keeper = nil }
            guard let fd = state.held else { return state.keeper }
            // Remove the name only if it is still our file; then closing drops the lock.
            if FileSystem.sameFile(fd, entryPath) { unlink(entryPath) }
            let aside = directory.deregisteredPath(id: instance.id!)
            if FileSystem.sameFile(fd, aside) { unlink(aside) }
            close(fd)
            state.held = nil
            return state.keeper
        }
        keeper?.cancel()
    }

    deinit {
        deregisterNow()
    }

    /// Starts the keeper unless one runs: it checks the entry and restores it while registered.
    private func startKeeper() {
        state.withLock { state in
            guard state.keeper == nil, state.held != nil else { return }
            let interval = checkInterval
            state.keeper = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard let self, !Task.isCancelled else { return }
                    self.keep()
                }
            }
        }
    }

    /// One check of the keeper: restores a vanished entry (a busy lock waits for the next
    /// check), unless `sdctl deregister` moved it aside on purpose.
    private func keep() {
        do {
            try state.withLock { state in
                guard let fd = state.held, !FileSystem.sameFile(fd, entryPath) else { return }
                let aside = directory.deregisteredPath(id: instance.id!)
                if FileSystem.sameFile(fd, aside) {
                    unlink(aside)
                    close(fd)
                    state.held = nil
                    state.keeper?.cancel()
                    state.keeper = nil
                    logger.notice(
                        "deregistered by another process; not registering again",
                        metadata: ["sd.file.path": "\(entryPath)"])
                    return
                }
                state.held = try restore(fd)
            }
        } catch is LockBusy {
            return
        } catch {
            logger.warning(
                "registration file was removed and could not be put back; trying again",
                metadata: ["sd.file.path": "\(entryPath)", "sd.file.error": "\(error)"])
        }
    }

    private func createEntry() throws -> Int32 {
        try FileSystem.makeDirectories(directory.path)
        let lock = try FileSystem.openLock(directory.lockPath, create: true)!
        defer { close(lock) }
        while flock(lock, LOCK_EX | LOCK_NB) != 0 {
            if errno == EWOULDBLOCK { throw LockBusy() }
            guard errno == EINTR else { throw FileSystem.error("cannot lock", directory.lockPath) }
        }
        let final = entryPath
        if let existing = try? FileSystem.openEntry(final) {
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
        let fd = try FileSystem.open(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644)
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
        logger.debug(
            "registered", metadata: ["sd.file.path": "\(final)", "sd.file.address": "\(instance.address)"])
        return fd
    }
}
