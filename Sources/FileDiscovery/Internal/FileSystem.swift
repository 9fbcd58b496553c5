import Discovery

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Thin, throwing wrappers over the system calls the file backend uses.
enum FileSystem {
    static func error(_ what: String, _ path: String, errno code: Int32 = errno) -> DiscoveryError {
        let reason = String(cString: strerror(code))
        let kind: DiscoveryError.Code = (code == EACCES || code == EPERM) ? .permissionDenied : .io
        return DiscoveryError(kind, "\(what) \(path): \(reason)", cause: SystemError(errno: code))
    }

    /// `mkdir -p`, mode 0700 for what it creates (the XDG state directory's mode), then the
    /// trust checks of ``verifyTrusted(_:)``.
    static func makeDirectories(_ path: String) throws(DiscoveryError) {
        var current = path.hasPrefix("/") ? "" : "."
        // Concrete appends, not `"/" + component` (String + Substring) or `joined`: a generic
        // algorithm's types are looked up at run time, a scan of every conformance in the
        // binary each (docs/benchmarks.md, "Process start").
        for component in path.split(separator: "/") {
            current += "/"
            current += String(component)
            if mkdir(current, 0o700) != 0, errno != EEXIST {
                throw error("cannot create directory", current)
            }
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw error("cannot stat", path) }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw DiscoveryError(.invalidArgument, "\(path) exists and is not a directory")
        }
        try verifyTrusted(path)
    }

    /// Refuses a service directory that another user could have planted or can change, as ssh
    /// refuses such files: the directory itself must be a real directory (not a symbolic link)
    /// owned by this user and writable by nobody else; its parent (the state directory, for a
    /// bare service name) must be owned by this user or root and writable by nobody else,
    /// unless it is sticky like /tmp.
    static func verifyTrusted(_ path: String) throws(DiscoveryError) {
        let user = geteuid()
        var info = stat()
        guard lstat(path, &info) == 0 else { throw error("cannot read", path) }
        if (info.st_mode & S_IFMT) == S_IFLNK {
            throw DiscoveryError(
                .permissionDenied, "refusing \(path): it is a symbolic link; name the directory itself")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw DiscoveryError(.invalidArgument, "\(path) exists and is not a directory")
        }
        try verifyOwnerAndMode(path, info, owners: [user], allowSticky: false)
        var parent = ""
        for component in path.split(separator: "/").dropLast() {
            if !parent.isEmpty { parent += "/" }
            parent += String(component)
        }
        let parentPath = path.hasPrefix("/") ? "/" + parent : (parent.isEmpty ? "." : parent)
        guard stat(parentPath, &info) == 0 else { throw error("cannot read", parentPath) }
        try verifyOwnerAndMode(parentPath, info, owners: [user, 0], allowSticky: true)
    }

    private static func verifyOwnerAndMode(
        _ path: String, _ info: stat, owners: [uid_t], allowSticky: Bool
    ) throws(DiscoveryError) {
        guard owners.contains(info.st_uid) else {
            throw DiscoveryError(
                .permissionDenied,
                "refusing \(path): owned by uid \(info.st_uid), not by you (uid \(geteuid())); "
                    + "another user could list or forge registrations there")
        }
        let mode = info.st_mode & 0o7777
        if mode & 0o022 != 0, !(allowSticky && mode & mode_t(S_ISVTX) != 0) {
            throw DiscoveryError(
                .permissionDenied,
                "refusing \(path): writable by group or others (mode \(String(mode, radix: 8))); "
                    + "run 'chmod go-w \(path)'")
        }
    }

    /// Opens a registration entry for reading without ever blocking or following a symbolic
    /// link: `nil` when it is gone. Only a regular file owned by this user is an entry; a FIFO
    /// (whose open would block for ever without O_NONBLOCK), a device, a link or another
    /// user's file is refused with the reason.
    static func openEntry(_ path: String) throws(DiscoveryError) -> Int32? {
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            if errno == ELOOP {
                throw DiscoveryError(.permissionDenied, "\(path): a symbolic link, not followed")
            }
            throw error("cannot open", path)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let failure = error("cannot read", path)
            _ = Glibc.close(fd)
            throw failure
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            _ = Glibc.close(fd)
            throw DiscoveryError(.invalidResponse, "\(path): not a regular file")
        }
        guard info.st_uid == geteuid() else {
            _ = Glibc.close(fd)
            throw DiscoveryError(
                .permissionDenied, "\(path): owned by uid \(info.st_uid), not by you (uid \(geteuid()))")
        }
        return fd
    }

    /// Opens the directory's `.lock` (creating it when `create`), never through a symbolic link;
    /// `nil` when it does not exist and `create` is false. Only a regular file owned by this
    /// user is used; its mode is set to 0600 so that nobody else can open it to hold the lock.
    static func openLock(_ path: String, create: Bool) throws(DiscoveryError) -> Int32? {
        let flags = (create ? O_RDWR | O_CREAT : O_RDONLY) | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC
        let fd = Glibc.open(path, flags, 0o600)
        if fd < 0 {
            if errno == ENOENT, !create { return nil }
            if errno == ELOOP {
                throw DiscoveryError(.permissionDenied, "refusing \(path): a symbolic link, not followed")
            }
            throw error("cannot open", path)
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == geteuid() else {
            _ = Glibc.close(fd)
            throw DiscoveryError(
                .permissionDenied, "refusing \(path): not a regular file of yours (uid \(geteuid()))")
        }
        if info.st_mode & 0o077 != 0 { _ = fchmod(fd, 0o600) }
        return fd
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws(DiscoveryError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw error("cannot open", path) }
        return fd
    }

    static func readAll(_ fd: Int32, path: String) throws(DiscoveryError) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw error("cannot read", path)
            }
            if count == 0 { return result }
            result.append(contentsOf: buffer[0..<count])
            if result.count > 1 << 20 {
                throw DiscoveryError(.invalidResponse, "\(path): entry larger than 1 MiB")
            }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(DiscoveryError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw error("cannot write", path)
            }
            offset += written
        }
    }

    /// Whether some process holds an exclusive lock on `fd`'s file.
    static func isLockedByAnother(_ fd: Int32) -> Bool {
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }

    static func sameFile(_ fd: Int32, _ path: String) -> Bool {
        var open = stat()
        var named = stat()
        guard fstat(fd, &open) == 0, stat(path, &named) == 0 else { return false }
        return open.st_dev == named.st_dev && open.st_ino == named.st_ino
    }

    static func entryNames(in directory: String) throws(DiscoveryError) -> [String] {
        try names(in: directory, where: FileServiceDirectory.isEntryName)
    }

    /// The names in `directory` that `include` keeps.
    static func names(in directory: String, where include: (String) -> Bool) throws(DiscoveryError)
        -> [String]
    {
        guard let dir = opendir(directory) else { throw error("cannot list", directory) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if include(name) { names.append(name) }
        }
        return names
    }
}
