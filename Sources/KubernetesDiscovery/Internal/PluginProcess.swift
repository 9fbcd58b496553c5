import Discovery

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One run of a credential plugin: stdin `/dev/null`, stdout and stderr read to their bounds,
/// the whole run under a deadline after which the plugin is killed. Runs on a thread of its own,
/// never on the cooperative pool or Dispatch's, since it blocks in poll(2) and waitpid(2).
enum PluginProcess {
    struct Output: Sendable {
        var status: Int32
        var stdout: [UInt8]
        /// The last ``stderrLimit`` bytes.
        var stderr: [UInt8]
    }

    enum Failure: Error, Sendable {
        /// posix_spawnp failed (ENOENT: the command is not there).
        case cannotStart(errno: Int32)
        case timedOut
        case outputTooLarge
        case killed(signal: Int32)
        /// poll(2) failed with something other than EINTR.
        case cannotRead(errno: Int32)
    }

    static let stdoutLimit = 1 << 20
    static let stderrLimit = 4096

    static func run(
        _ command: [String], environment: [(name: String, value: String)], timeout: Duration
    ) async throws(Failure) -> Output {
        let result: Result<Output, Failure> = await withCheckedContinuation { continuation in
            runOnNewThread {
                continuation.resume(
                    returning: Result { () throws(Failure) in try runBlocking(command, environment, timeout) }
                )
            }
        }
        return try result.get()
    }

    private static func runBlocking(
        _ command: [String], _ environment: [(name: String, value: String)], _ timeout: Duration
    ) throws(Failure) -> Output {
        let deadline = ContinuousClock.now + timeout
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        // Socket pairs rather than pipes: they can be made close-on-exec atomically (pipe2 is
        // not imported), so a child another thread spawns meanwhile never holds a write end.
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &out) == 0 else { throw .cannotStart(errno: errno) }
        guard socketpair(AF_UNIX, type, 0, &err) == 0 else {
            let saved = errno
            close(out[0])
            close(out[1])
            throw .cannotStart(errno: saved)
        }
        var readEnds = [out[0], err[0]]
        defer { for fd in readEnds where fd >= 0 { close(fd) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        // A process group of its own, so that a plugin past its deadline is killed with whatever it
        // started (a background child would otherwise hold its stdout open).
        var attributes = posix_spawnattr_t()
        SpawnAttributes.initialize(&attributes, ownProcessGroup: true)
        defer { posix_spawnattr_destroy(&attributes) }

        var envp = SpawnEnvironment.entries(adding: environment)
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, command[0], &actions, &attributes, &argv, &envp)
        close(out[1])
        close(err[1])
        guard spawned == 0 else { throw .cannotStart(errno: spawned) }

        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var failure: Failure?
        var buffer = [UInt8](repeating: 0, count: 16384)
        while failure == nil && readEnds.contains(where: { $0 >= 0 }) {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                failure = .timedOut
                break
            }
            var fds = readEnds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let milliseconds = Int32(clamping: left.components.seconds * 1000 + 1)
            guard poll(&fds, nfds_t(fds.count), milliseconds) >= 0 || errno == EINTR else {
                failure = .cannotRead(errno: errno)
                break
            }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(fds[index].fd, $0.baseAddress, $0.count) }
                if count <= 0 {
                    if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                    close(readEnds[index])
                    readEnds[index] = -1
                } else if index == 0 {
                    stdout += buffer[..<count]
                    if stdout.count > stdoutLimit { failure = .outputTooLarge }
                } else {
                    stderr += buffer[..<count]
                    if stderr.count > 2 * stderrLimit { stderr.removeFirst(stderr.count - stderrLimit) }
                }
            }
        }
        // Both sockets closed: the plugin has ended or is about to. Give it the rest of the deadline.
        var status: Int32 = 0
        while failure == nil {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { break }
            if ContinuousClock.now >= deadline {
                failure = .timedOut
                break
            }
            usleep(2000)
        }
        if let failure {
            kill(-pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            throw failure
        }
        if stderr.count > stderrLimit { stderr.removeFirst(stderr.count - stderrLimit) }
        // WIFEXITED / WIFSIGNALED, which Swift does not import.
        let signal = status & 0x7f
        guard signal == 0 else { throw .killed(signal: signal) }
        return Output(status: (status >> 8) & 0xff, stdout: stdout, stderr: stderr)
    }
}
