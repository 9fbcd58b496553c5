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

    /// `mkdir -p`, mode 0755.
    static func makeDirectories(_ path: String) throws(DiscoveryError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0, errno != EEXIST {
                throw error("cannot create directory", current)
            }
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw error("cannot stat", path) }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw DiscoveryError(.invalidArgument, "\(path) exists and is not a directory")
        }
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
        guard let dir = opendir(directory) else { throw error("cannot list", directory) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if FileServiceDirectory.isEntryName(name) { names.append(name) }
        }
        return names
    }
}
