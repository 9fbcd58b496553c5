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
        self.init(path: Self.home(environment: environment) + "/" + serviceName)
    }

    public var description: String { path }

    /// `$SDCTL_HOME`, else `$XDG_STATE_HOME/sdctl`, else `~/.local/state/sdctl`.
    public static func home(environment: [String: String]) -> String {
        if let home = environment["SDCTL_HOME"], !home.isEmpty { return home }
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/sdctl" }
        let user = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return user + "/.local/state/sdctl"
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
    var lockPath: String { path + "/.lock" }

    /// Reads one entry. `nil` when the file is gone or stale (stale ones are removed).
    func readLiveEntry(named name: String) throws(DiscoveryError) -> FileEntry? {
        let file = path + "/" + name
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw FileSystem.error("cannot open", file)
        }
        defer { close(fd) }
        guard FileSystem.isLockedByAnother(fd) else {
            removeIfStale(fd: fd, file: file)
            return nil
        }
        return try FileEntry.decode(FileSystem.readAll(fd, path: file), file: file)
    }

    /// Removes a stale entry, but only if the name still refers to the file found unlocked and
    /// it is still unlocked, so that a fresh registration under the same id is never removed.
    private func removeIfStale(fd: Int32, file: String) {
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return }
        defer { flock(fd, LOCK_UN) }
        if FileSystem.sameFile(fd, file) { unlink(file) }
    }

    /// Every live registration, sorted; stale entries are removed on the way, unreadable ones
    /// are reported through `skipped` and left out.
    public func liveInstances(skipped: (DiscoveryError) -> Void = { _ in }) throws(DiscoveryError)
        -> [Instance]
    {
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

    /// Removes every entry whose id or address is `idOrAddress`, live or not, and returns the
    /// ids removed. A registrar holding one of them keeps running but is no longer listed.
    public func remove(idOrAddress: String) throws(DiscoveryError) -> [String] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return [] }
            throw FileSystem.error("cannot read", path)
        }
        var removed: [String] = []
        for name in try FileSystem.entryNames(in: path) {
            let id = String(name.dropLast(Self.entrySuffix.count))
            var matches = id == idOrAddress
            if !matches {
                let file = path + "/" + name
                let fd = open(file, O_RDONLY | O_CLOEXEC)
                if fd >= 0 {
                    defer { close(fd) }
                    if let bytes = try? FileSystem.readAll(fd, path: file),
                        let entry = try? FileEntry.decode(bytes, file: file)
                    {
                        matches = entry.address == idOrAddress
                    }
                }
            }
            if matches {
                if unlink(path + "/" + name) == 0 {
                    removed.append(id)
                } else if errno != ENOENT {
                    throw FileSystem.error("cannot remove", path + "/" + name)
                }
            }
        }
        return removed.sorted()
    }
}
