import Discovery

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A template's destination, written the way a reader can never see half of it: the new
/// content goes to a temporary file in the destination's directory, is flushed to disk
/// (`fsync`), takes the existing file's mode and owner, and is renamed over the destination;
/// the directory is flushed too, so the rename survives a crash.
///
/// Nothing is written when the destination already holds the content (a reload is not
/// triggered for nothing). A destination that is a symbolic link is followed: the file it
/// points at is replaced, the link kept. A new file gets mode 0666 less the umask, as `>` in
/// a shell would give it.
struct RenderedFile: Sendable {
    /// The largest existing destination compared byte for byte; a larger one is rewritten.
    static let comparedBytes = 64 << 20

    let path: String

    /// A failed write: what was being done, and the errno.
    struct WriteError: Error, Sendable, CustomStringConvertible {
        var path: String
        var step: String
        var errno: Int32
        var description: String { "\(path): \(step): \(String(cString: strerror(errno)))" }
    }

    /// Writes `content` unless the file holds it already; returns whether it wrote.
    func replace(with content: [UInt8]) throws(WriteError) -> Bool {
        let target = resolvedPath()
        var existing = stat()
        let exists = stat(target, &existing) == 0
        if !exists, errno != ENOENT { throw WriteError(path: target, step: "stat", errno: errno) }
        if exists, existing.st_mode & S_IFMT != S_IFREG {
            throw WriteError(path: target, step: "not a regular file", errno: EINVAL)
        }
        if exists, Int(existing.st_size) == content.count, content.count <= Self.comparedBytes,
            let current = try? TextFile.contents(of: target, limit: Self.comparedBytes), current == content
        {
            return false
        }
        let directory = Self.directory(of: target)
        let name = target.split(separator: "/").last.map(String.init) ?? target
        var template = Array("\(directory)/.\(name).sdctl-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw WriteError(path: directory, step: "making a temporary file", errno: errno)
        }
        let temporary = String(
            decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var renamed = false
        defer {
            if !renamed { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var offset = 0
            while offset < content.count {
                let written = content[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw WriteError(path: temporary, step: "write", errno: errno)
                }
                offset += written
            }
            let mode: mode_t
            if exists {
                mode = existing.st_mode & 0o7777
                if existing.st_uid != geteuid() || existing.st_gid != getegid() {
                    guard fchown(fd, existing.st_uid, existing.st_gid) == 0 else {
                        throw WriteError(
                            path: target, step: "keeping its owner \(existing.st_uid):\(existing.st_gid)",
                            errno: errno)
                    }
                }
            } else {
                let mask = umask(0)
                umask(mask)
                mode = 0o666 & ~mask
            }
            guard fchmod(fd, mode) == 0 else {
                throw WriteError(path: temporary, step: "chmod", errno: errno)
            }
            guard fsync(fd) == 0 else { throw WriteError(path: temporary, step: "fsync", errno: errno) }
        }
        guard rename(temporary, target) == 0 else {
            throw WriteError(path: target, step: "rename", errno: errno)
        }
        renamed = true
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            // The rename is done; a directory that cannot be flushed (some filesystems refuse)
            // does not undo it.
            _ = fsync(directoryFD)
            close(directoryFD)
        }
        return true
    }

    /// The file a symbolic link at `path` points at (its directory must exist); `path` itself
    /// otherwise.
    private func resolvedPath() -> String {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK,
            let resolved = realpath(path, nil)
        else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
