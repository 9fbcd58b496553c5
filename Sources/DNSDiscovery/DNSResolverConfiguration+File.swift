import Discovery

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension DNSResolverConfiguration {
    /// The system resolver's configuration: `path` (resolv.conf) read and parsed, with
    /// `RES_OPTIONS` and `LOCALDOMAIN` from `environment`.
    ///
    /// A missing file is an empty one (the server is then 127.0.0.1, as glibc uses); a file that
    /// exists but cannot be read, or is larger than 64 KiB, is an `DiscoveryError/Code/io`
    /// error.
    public static func system(
        path: String = "/etc/resolv.conf", environment: [String: String] = [:]
    ) throws(DiscoveryError) -> DNSResolverConfiguration {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let error = errno
            if error == ENOENT { return DNSResolverConfiguration(resolvConf: "", environment: environment) }
            throw DiscoveryError(.io, "cannot read \(path): \(String(cString: strerror(error)))")
        }
        defer { close(fd) }
        let limit = 64 * 1024
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count <= limit {
            let got = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, limit + 1 - count) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else {
                throw DiscoveryError(.io, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            count += got
        }
        guard count <= limit else { throw DiscoveryError(.io, "\(path) is larger than 64 KiB") }
        return DNSResolverConfiguration(
            resolvConf: String(decoding: bytes[..<count], as: UTF8.self), environment: environment)
    }
}
