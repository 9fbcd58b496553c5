import Discovery

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The directory that holds one service's registrations in the file backend.
///
/// Each registration is a file `<id>.instance` holding JSON, created under a hidden temporary
/// name, locked with an exclusive `flock` and only then renamed into place. The registering
/// process keeps it open and locked for as long as the registration lives; when the process
/// exits, however it exits, the kernel drops the lock. An entry whose lock nobody holds is
/// therefore stale: readers skip it and remove it.
///
/// Only a directory owned by this user and writable by nobody else is used, and in it only
/// regular files owned by this user, never through a symbolic link (docs/file-backend.md).
public struct FileServiceDirectory: Sendable, Hashable, CustomStringConvertible {
    /// The suffix of registration files.
    public static let entrySuffix = ".instance"

    /// The absolute directory path.
    public let path: String

    public init(path: String) {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// The directory for a bare service name: `$SDCTL_HOME/<name>`.
    public init(serviceName: String, environment: [String: String]) throws(DiscoveryError) {
        try Self.validateServiceName(serviceName)
        self.init(path: try Self.home(environment: environment) + "/" + serviceName)
    }

    public var description: String { path }

    /// `$SDCTL_HOME`, else `$XDG_STATE_HOME/sdctl`, else `~/.local/state/sdctl`, where `~` is
    /// `$HOME` or, when that is unset, the user's home directory in the password database (a
    /// service started without HOME must not land in a directory others can create first).
    public static func home(environment: [String: String]) throws(DiscoveryError) -> String {
        if let home = environment["SDCTL_HOME"], !home.isEmpty { return home }
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/sdctl" }
        if let user = environment["HOME"], !user.isEmpty { return user + "/.local/state/sdctl" }
        guard let entry = getpwuid(geteuid()), let directory = entry.pointee.pw_dir,
            directory.pointee != 0
        else {
            throw DiscoveryError(
                .invalidArgument,
                "HOME is not set and uid \(geteuid()) has no home directory: set SDCTL_HOME")
        }
        return String(cString: directory) + "/.local/state/sdctl"
    }

    /// Service names are one path component of letters, digits, `.`, `_` and `-`.
    public static func validateServiceName(_ name: String) throws(DiscoveryError) {
        guard !name.isEmpty, name.utf8.count <= 200, !name.hasPrefix("."), name.utf8.allSatisfy(isNameByte)
        else {
            throw DiscoveryError(
                .invalidArgument,
                "invalid service name '\(name)': use letters, digits, '.', '_' and '-' (not leading '.')")
        }
    }

    /// Registration ids become file names: letters, digits and `. _ - : @ +`, not leading `.`.
    public static func validateID(_ id: String) throws(DiscoveryError) {
        guard !id.isEmpty, id.utf8.count <= 200, !id.hasPrefix("."),
            id.utf8.allSatisfy({ isNameByte($0) || $0 == 0x3A || $0 == 0x40 || $0 == 0x2B })
        else {
            throw DiscoveryError(
                .invalidArgument,
                "invalid id '\(id)': use letters, digits and '. _ - : @ +' (not leading '.'), at most 200")
        }
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2D || byte == 0x2E || byte == 0x5F
    }

    static func isEntryName(_ name: String) -> Bool {
        !name.hasPrefix(".") && name.hasSuffix(entrySuffix) && name.count > entrySuffix.count
    }

    func entryPath(id: String) -> String { path + "/" + id + Self.entrySuffix }
    /// Where ``remove(idOrAddress:)`` moves a live entry: its registrar finds it there and
    /// knows it was deregistered on purpose, not lost (it then does not put it back).
    func deregisteredPath(id: String) -> String { path + "/." + id + ".deregistered" }
    var lockPath: String { path + "/.lock" }

    /// Reads one entry. `nil` when the file is gone or stale (stale ones are removed). Never
    /// blocks and never follows a link (``FileSystem/openEntry(_:)``).
    func readLiveEntry(named name: String) throws(DiscoveryError) -> FileEntry? {
        let file = path + "/" + name
        guard let fd = try FileSystem.openEntry(file) else { return nil }
        defer { close(fd) }
        guard FileSystem.isLockedByAnother(fd) else {
            removeIfStale(fd: fd, file: file)
            return nil
        }
        return try FileEntry.decode(FileSystem.readAll(fd, path: file), file: file)
    }

    /// Removes a stale entry, but only if the name still refers to the file found unlocked and
    /// it is still unlocked, so that a fresh registration under the same id is never removed.
    ///
    /// The check and the unlink happen under the directory's `.lock`, which a registrar holds
    /// while it checks for an entry and renames its own into place: without it, a rename could
    /// land between the check and the unlink and the fresh entry would be deleted. The lock is
    /// only tried; when a registrar has it, the stale entry is left for a later read (it is not
    /// listed meanwhile).
    private func removeIfStale(fd: Int32, file: String) {
        guard let lock = try? FileSystem.openLock(lockPath, create: true) else { return }
        defer { close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { return }
        defer { flock(lock, LOCK_UN) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return }
        defer { flock(fd, LOCK_UN) }
        if FileSystem.sameFile(fd, file) { unlink(file) }
    }

    /// Every live registration, sorted; stale entries are removed on the way, unreadable ones
    /// are reported through `skipped` and left out.
    public func liveInstances(skipped: (DiscoveryError) -> Void = { _ in }) throws(DiscoveryError)
        -> [Instance]
    {
        var info = stat()
        if lstat(path, &info) == 0 { try FileSystem.verifyTrusted(path) }
        var instances: [Instance] = []
        for name in try FileSystem.entryNames(in: path) {
            do {
                if let entry = try readLiveEntry(named: name) { instances.append(entry.instance) }
            } catch {
                skipped(error)
            }
        }
        return instances.sorted()
    }

    /// Removes the entries moved aside by an earlier deregistration whose registrar has gone
    /// without taking them away (it exited before its next check).
    private func removeAbandonedDeregistrations() {
        let names =
            (try? FileSystem.names(in: path) { $0.hasPrefix(".") && $0.hasSuffix(".deregistered") }) ?? []
        for name in names {
            let file = path + "/" + name
            guard let fd = try? FileSystem.openEntry(file) else { continue }
            if !FileSystem.isLockedByAnother(fd), FileSystem.sameFile(fd, file) { unlink(file) }
            close(fd)
        }
    }

    /// Removes every entry whose id or address is `idOrAddress`, live or not, and returns the
    /// ids removed. A registrar holding one of them keeps running but is no longer listed (it
    /// sees that its entry was deregistered, and does not put it back).
    public func remove(idOrAddress: String) throws(DiscoveryError) -> [String] {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return [] }
            throw FileSystem.error("cannot read", path)
        }
        try FileSystem.verifyTrusted(path)
        removeAbandonedDeregistrations()
        var removed: [String] = []
        for name in try FileSystem.entryNames(in: path) {
            let id = String(name.dropLast(Self.entrySuffix.count))
            var matches = id == idOrAddress
            if !matches {
                let file = path + "/" + name
                if let fd = try? FileSystem.openEntry(file) {
                    defer { close(fd) }
                    if let bytes = try? FileSystem.readAll(fd, path: file),
                        let entry = try? FileEntry.decode(bytes, file: file)
                    {
                        matches = entry.address == idOrAddress
                    }
                }
            }
            if matches {
                // A live entry moves aside for its registrar to see; anything else goes.
                let file = path + "/" + name
                if let fd = try? FileSystem.openEntry(file) {
                    let live = FileSystem.isLockedByAnother(fd)
                    close(fd)
                    if live, rename(file, deregisteredPath(id: id)) == 0 {
                        removed.append(id)
                        continue
                    }
                }
                if unlink(file) == 0 {
                    removed.append(id)
                } else if errno != ENOENT {
                    throw FileSystem.error("cannot remove", path + "/" + name)
                }
            }
        }
        return removed.sorted()
    }
}
