import Discovery
import Dispatch
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The inotify watch behind a ``FileInstancer``: reads the directory, then re-reads the entries
/// inotify names, and publishes into the instancer's cache. Its callbacks hold it weakly; the
/// instancer's core holds it until it stops.
final class DirectoryWatch: Sendable {
    let directory: FileServiceDirectory
    private let cache: InstanceCache
    private let queue: DispatchQueue
    private let logger: Logger
    private let state = Mutex(WatchState())

    private struct WatchState: Sendable {
        var entries = KeyedInstances<String>()
        var inotify: Int32 = -1
        var source: ReadSource?
        var backoff = Backoff(initial: .milliseconds(50), maximum: .seconds(5))
        var stopped = false
    }

    /// Dispatch sources are thread-safe (their methods may be called from any thread); the
    /// Dispatch overlay just does not say so to the compiler.
    private struct ReadSource: @unchecked Sendable {
        let source: any DispatchSourceRead
    }

    private static let watchMask: UInt32 = UInt32(
        IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)

    /// `beforeInstallingWatch` runs in every start between making the watch and installing it:
    /// tests stop the instancer there, the window a stop() could land in.
    init(
        directory: FileServiceDirectory, cache: InstanceCache, logger: Logger,
        beforeInstallingWatch: (@Sendable () -> Void)?
    ) {
        self.directory = directory
        self.cache = cache
        self.logger = logger
        self.queue = DispatchQueue(label: "sdctl.file-instancer")
        self.beforeInstallingWatch = beforeInstallingWatch
    }

    private let beforeInstallingWatch: (@Sendable () -> Void)?

    /// Reads the directory and installs the watch; returns once the first set (or failure) is
    /// published.
    func begin() {
        queue.sync { start() }
    }

    /// Ends the watch; a start or retry under way installs nothing.
    func stop() {
        let source = state.withLock { state -> ReadSource? in
            state.stopped = true
            defer { state.source = nil }
            return state.source
        }
        source?.source.cancel()
    }

    // MARK: - On `queue`

    /// Sets up the watch and reads the whole directory; on failure, publishes it and retries.
    private func start() {
        guard !state.withLock({ $0.stopped }) else { return }
        do throws(DiscoveryError) {
            try FileSystem.makeDirectories(directory.path)
            let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard fd >= 0 else { throw FileSystem.error("cannot watch", directory.path) }
            guard inotify_add_watch(fd, directory.path, Self.watchMask) >= 0 else {
                let failure = FileSystem.error("cannot watch", directory.path)
                close(fd)
                throw failure
            }
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [weak self] in self?.drain(fd) }
            source.setCancelHandler { close(fd) }
            beforeInstallingWatch?()
            let installed = state.withLock { state in
                guard !state.stopped else { return false }
                state.inotify = fd
                state.source = ReadSource(source: source)
                return true
            }
            // A source is resumed before it can be released (libdispatch traps on releasing a
            // suspended one), even when a stop() came first; cancelling it closes the fd.
            source.resume()
            guard installed else {
                source.cancel()
                return
            }
            try rescan()
            state.withLock { $0.backoff.reset() }
        } catch {
            fail(error)
        }
    }

    private func fail(_ error: DiscoveryError) {
        logger.warning(
            "file watch failed; retrying", metadata: ["sd.directory": "\(directory)", "sd.error": "\(error)"])
        cache.fail(error)
        let (source, delay) = state.withLock { state in
            defer {
                state.source = nil
                state.inotify = -1
            }
            return (state.source, state.backoff.next())
        }
        source?.source.cancel()
        let nanoseconds = delay.wholeNanoseconds
        queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [weak self] in self?.start() }
    }

    private func rescan() throws(DiscoveryError) {
        var entries: [String: Instance] = [:]
        for name in try FileSystem.entryNames(in: directory.path) {
            if let instance = readEntry(name) { entries[name] = instance }
        }
        let sorted = KeyedInstances(entries)
        state.withLock { $0.entries = sorted }
        cache.update(sorted.sorted)
    }

    /// Reads one entry; unreadable entries are logged and skipped, not fatal.
    private func readEntry(_ name: String) -> Instance? {
        do {
            return try directory.readLiveEntry(named: name)?.instance
        } catch {
            logger.warning("skipping unreadable registration", metadata: ["sd.error": "\(error)"])
            return nil
        }
    }

    private func drain(_ fd: Int32) {
        var changed: Set<String> = []
        var closed: Set<String> = []
        var needRescan = false
        var lost = false
        let capacity = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let count = read(fd, buffer, capacity)
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { break }
                lost = true
                break
            }
            if count == 0 { break }
            var offset = 0
            while offset < count {
                let event = buffer.advanced(by: offset).assumingMemoryBound(to: inotify_event.self)
                let nameLength = Int(event.pointee.len)
                let mask = Int32(bitPattern: event.pointee.mask)
                if mask & Int32(IN_Q_OVERFLOW) != 0 { needRescan = true }
                if mask & Int32(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED) != 0 { lost = true }
                if nameLength > 0 {
                    let namePointer = buffer.advanced(by: offset + MemoryLayout<inotify_event>.size)
                        .assumingMemoryBound(to: CChar.self)
                    let name = String(cString: namePointer)
                    if FileServiceDirectory.isEntryName(name) {
                        changed.insert(name)
                        if mask & Int32(IN_CLOSE_WRITE) != 0 { closed.insert(name) }
                    }
                }
                offset += MemoryLayout<inotify_event>.size + nameLength
            }
        }
        if lost {
            fail(DiscoveryError(.unavailable, "directory \(directory) was removed or moved"))
            return
        }
        if needRescan {
            do throws(DiscoveryError) { try rescan() } catch { fail(error) }
            return
        }
        guard !changed.isEmpty else { return }
        var updates: [(String, Instance?)] = []
        for name in changed { updates.append((name, readEntry(name))) }
        apply(updates)
        // The kernel reports a dead holder's close (IN_CLOSE_WRITE) before it releases the
        // holder's lock, so an entry closed by its writer can still read as live for a moment.
        // Its writer only closes it by exiting: look again until the lock is gone.
        for (name, instance) in updates where instance != nil && closed.contains(name) {
            recheck(name, after: .microseconds(200), remaining: 12)
        }
    }

    private func apply(_ updates: [(String, Instance?)]) {
        let set = state.withLock { state -> [Instance] in
            for (name, instance) in updates { state.entries.set(instance, for: name) }
            return state.entries.sorted
        }
        cache.update(set)
    }

    /// Re-reads an entry whose writer closed it, doubling the delay each time (200 us to about
    /// 0.8 s in all), until it is no longer live.
    private func recheck(_ name: String, after delay: Duration, remaining: Int) {
        queue.asyncAfter(deadline: .now() + .nanoseconds(delay.wholeNanoseconds)) { [weak self] in
            guard let self, !state.withLock({ $0.stopped || $0.entries[name] == nil }) else { return }
            let instance = readEntry(name)
            if instance == nil {
                apply([(name, nil)])
            } else if remaining > 1 {
                recheck(name, after: delay * 2, remaining: remaining - 1)
            }
        }
    }
}
