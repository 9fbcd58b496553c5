#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Small files that the environment points at (a token file, a directory of CA certificates).
package enum TextFile {
    package struct Unreadable: Error {
        let path: String
        let errno: Int32
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
