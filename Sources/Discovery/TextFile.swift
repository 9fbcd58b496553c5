#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Small files that the environment points at (a token file, a directory of CA certificates).
package enum TextFile {
    package struct Unreadable: Error {
        package let path: String
        package let errno: Int32
    }

    /// A regular file larger than the limit ``contents(of:limit:)`` was given.
    package struct TooLarge: Error {
        let path: String
        let limit: Int
    }

    /// All of a regular file's bytes, at most `limit` of them. A FIFO, a device or a directory
    /// is ``Unreadable`` (EINVAL) rather than read, so that nothing blocks on it.
    package static func contents(of path: String, limit: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Unreadable(path: path, errno: errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw Unreadable(path: path, errno: errno) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw Unreadable(path: path, errno: EINVAL) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Unreadable(path: path, errno: errno)
            }
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else { throw TooLarge(path: path, limit: limit) }
            bytes += buffer[0..<count]
        }
    }

    /// The first line of a file without its line end; empty for an empty file.
    package static func firstLine(of path: String) throws -> String {
        guard let file = fopen(path, "r") else { throw Unreadable(path: path, errno: errno) }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 8192)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return "" }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(line.prefix { $0 != "\n" && $0 != "\r" })
    }

    /// The paths of the regular files in `directory` whose names end in one of `suffixes`,
    /// sorted.
    package static func files(in directory: String, endingIn suffixes: [String]) throws -> [String] {
        guard let stream = opendir(directory) else { throw Unreadable(path: directory, errno: errno) }
        defer { closedir(stream) }
        var paths: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard suffixes.contains(where: { name.hasSuffix($0) }) else { continue }
            paths.append(directory.hasSuffix("/") ? directory + name : directory + "/" + name)
        }
        return paths.sorted()
    }
}
