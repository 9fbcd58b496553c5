#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Writes an executable script. Its descriptor is close-on-exec from the start: a child that
/// another test spawns meanwhile and that inherited a write descriptor would make executing the
/// script fail with ETXTBSY ("Text file busy") for as long as that child lives, which
/// Foundation's `write(toFile:)` allows.
public func writeExecutableScript(_ text: String, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
    guard fd >= 0 else { throw ServerProcesses.Unavailable("cannot create \(path): errno \(errno)") }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { throw ServerProcesses.Unavailable("cannot write \(path): errno \(errno)") }
        written += count
    }
}
