import Discovery

#if canImport(Glibc)
    import Glibc
#endif

/// Starts `path` with `arguments` (no shell), with default signal dispositions and nothing
/// blocked: the test runner blocks most signals in its threads, and a child would otherwise
/// inherit that (a tmux server started so hands it to its terminal, where Ctrl-C never lands).
public func spawnProcess(_ path: String, _ arguments: [String]) -> pid_t {
    var attributes = posix_spawnattr_t()
    SpawnAttributes.initialize(&attributes, ownProcessGroup: false)
    defer { posix_spawnattr_destroy(&attributes) }
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, path, nil, &attributes, argv, environ)
    precondition(status == 0, "posix_spawn \(path) failed: \(status)")
    return pid
}

/// Waits for a child and returns its exit status (128+signal if a signal ended it).
public func waitForExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let signal = status & 0x7F
    return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
}
