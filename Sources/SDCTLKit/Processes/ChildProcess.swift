import Discovery

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A child started with `posix_spawnp` (no shell), with default signal dispositions and an
/// empty signal mask whatever this process had.
struct ChildProcess: Sendable {
    let pid: pid_t

    /// How a child ended.
    enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)

        /// The shell convention: the code, or 128 + signal.
        var exitCode: Int32 {
            switch self {
            case .exited(let code): code
            case .signaled(let number): 128 + number
            }
        }
    }

    /// Starts `command[0]` (found on PATH) with the rest as arguments, with `stdin`, `stdout`
    /// and `stderr` in place of sdctl's where given, and `environment` added to sdctl's own.
    /// With `ownProcessGroup`, the child leads a process group of its own, so that a signal
    /// sent to sdctl's group does not reach it as well as sdctl's forward of it.
    static func spawn(
        _ command: [String], stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil,
        environment: [String: String] = [:], ownProcessGroup: Bool = false
    ) throws(CLIError) -> ChildProcess {
        precondition(!command.isEmpty)
        var attributes = posix_spawnattr_t()
        SpawnAttributes.initialize(&attributes, ownProcessGroup: ownProcessGroup)
        defer { posix_spawnattr_destroy(&attributes) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin { posix_spawn_file_actions_adddup2(&actions, stdin, 0) }
        if let stdout { posix_spawn_file_actions_adddup2(&actions, stdout, 1) }
        if let stderr { posix_spawn_file_actions_adddup2(&actions, stderr, 2) }

        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var envp: [UnsafeMutablePointer<CChar>?] =
            environment.isEmpty
            ? []
            : SpawnEnvironment.entries(
                adding: environment.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) })
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let status =
            envp.isEmpty
            ? posix_spawnp(&pid, command[0], &actions, &attributes, &argv, environ)
            : posix_spawnp(&pid, command[0], &actions, &attributes, &argv, &envp)
        guard status == 0 else {
            let reason = String(cString: strerror(status))
            let code: ExitCode = status == ENOENT ? ExitCode(127) : ExitCode(126)
            throw CLIError(code, "cannot run '\(command[0])': \(reason)")
        }
        return ChildProcess(pid: pid)
    }

    func signal(_ number: Int32) {
        kill(pid, number)
    }

    /// Waits for the child on a thread of its own, never blocking the concurrency pool or
    /// Dispatch's (a handler may run for minutes).
    /// `beforeReaping` runs once the child has ended but before its pid is released: after
    /// that, the pid may be another process's.
    func wait(beforeReaping: @escaping @Sendable () -> Void = {}) async -> Termination {
        let pid = self.pid
        return await withCheckedContinuation { continuation in
            runOnNewThread {
                var info = siginfo_t()
                while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0, errno == EINTR {}
                beforeReaping()
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0, errno == EINTR {}
                // WIFEXITED / WTERMSIG are macros; decode the status word by hand.
                let signal = status & 0x7F
                if signal == 0 {
                    continuation.resume(returning: .exited((status >> 8) & 0xFF))
                } else {
                    continuation.resume(returning: .signaled(signal))
                }
            }
        }
    }
}
