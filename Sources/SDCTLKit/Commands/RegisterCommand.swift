import Discovery
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `sdctl register TARGET ADDRESS [--id ID] [--tag T]... [--meta K=V]... [--ttl D] [-- CMD...]`
enum RegisterCommand {
    /// Signals passed on to a wrapped command.
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let target = try context.target()
        let instance = try makeInstance(context)
        let ttl = try context.duration("ttl")
        if context.invocation.value("drain") != nil, !type(of: target.backend).drains {
            throw context.usage(
                "--drain is for eureka:// targets (Eureka's OUT_OF_SERVICE); \(target.scheme):// has no such status"
            )
        }
        let registrar = try target.backend.makeRegistrar(for: instance, ttl: ttl, context)
        if let command = context.invocation.trailing {
            return try await runWrapped(command, registrar: registrar, context)
        }
        // Trap signals before registering: one that comes while registering (connecting can
        // take seconds) ends the registration and removes whatever it made.
        let latch = await SignalLatch.start([SIGINT, SIGTERM])
        defer { latch.cancel() }
        if let number = try await registerUnlessSignalled(registrar, latch, context) {
            try await deregisterUncancelled(registrar, context)
            return ExitCode(128 + number)
        }
        // Printed only once the registration has won the race with a signal: a script that
        // signals as soon as it reads the id gets a normal deregistration and exit 0, not the
        // exit of a registration cut short (which a signal landing between the print and the
        // race's end gave, under load).
        printRegistered(registrar, context)
        // Ends at a signal, or when this task is cancelled (stdout's reader went away).
        let number = await latch.wait()
        context.logger.info("deregistering", metadata: ["signal": "\(number.map(String.init) ?? "none")"])
        try await deregisterUncancelled(registrar, context)
        return .success
    }

    /// Registers, unless a signal comes first: then the registration is cancelled and the
    /// signal returned.
    static func registerUnlessSignalled(
        _ registrar: any Registrar, _ latch: SignalLatch, _ context: CommandContext
    )
        async throws(CLIError) -> Int32?
    {
        enum Outcome: Sendable {
            case registered(Result<Void, CLIError>)
            case signalled(Int32?)
        }
        let outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                do throws(CLIError) {
                    try await register(registrar, context)
                    return .registered(.success(()))
                } catch {
                    return .registered(.failure(error))
                }
            }
            group.addTask { .signalled(await latch.wait()) }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        switch outcome {
        case .registered(let result): try result.get()
        case .signalled(let number?): return number
        case .signalled(nil): break  // cancelled: not a signal
        }
        return nil
    }

    /// Deregisters in a task of its own, so that a cancellation of the command (its stdout
    /// went away) does not cut the clean-up short.
    static func deregisterUncancelled(_ registrar: any Registrar, _ context: CommandContext)
        async throws(CLIError)
    {
        let result = await Task { () async -> Result<Void, CLIError> in
            do throws(CLIError) {
                return .success(try await deregister(registrar, context))
            } catch {
                return .failure(error)
            }
        }.value
        try result.get()
    }

    static func makeInstance(_ context: CommandContext) throws(CLIError) -> Instance {
        let address: HostPort
        do {
            address = try HostPort(parsing: context.invocation.positionals[1])
        } catch {
            throw context.usage(error.message)
        }
        var metadata: [String: String] = [:]
        for pair in context.invocation.values("meta") {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw context.usage("--meta takes KEY=VALUE, not '\(pair)'")
            }
            metadata[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        let tags = context.invocation.values("tag")
        if tags.contains(where: \.isEmpty) { throw context.usage("--tag takes a non-empty value") }
        return Instance(
            address: address.description, id: context.invocation.value("id"), tags: tags, metadata: metadata)
    }

    static func register(_ registrar: any Registrar, _ context: CommandContext) async throws(CLIError) {
        let result = await withTimeout(context.timeout) { () async -> Result<Void, CLIError> in
            do throws(CLIError) {
                try await registerQuietly(registrar)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .some(.success): break
        case .some(.failure(let error)): throw error
        case .none:
            throw CLIError(
                .timedOut, "timed out registering after \(DurationParser.format(context.timeout!))")
        }
    }

    /// The registration's id (or its id and address with -o json), on stdout.
    static func printRegistered(_ registrar: any Registrar, _ context: CommandContext) {
        let id = registrar.instance.id ?? registrar.instance.address
        switch context.format {
        case .text: context.output.line(id)
        case .json:
            context.output.json(
                .object([("id", .string(id)), ("address", .string(registrar.instance.address))]))
        }
    }

    /// Registers without printing, for benchmarks.
    static func registerQuietly(_ registrar: any Registrar) async throws(CLIError) {
        do {
            try await registrar.register()
        } catch let error as DiscoveryError {
            throw CLIError(error)
        } catch {
            throw CLIError(.failure, "\(error)")
        }
    }

    static func deregister(_ registrar: any Registrar, _ context: CommandContext) async throws(CLIError) {
        do {
            try await registrar.deregister()
        } catch let error as DiscoveryError {
            throw CLIError(error)
        } catch {
            throw CLIError(.failure, "\(error)")
        }
    }

    /// Starts the child, registers it, forwards signals, and deregisters when it exits.
    ///
    /// The child shares sdctl's process group, so a Ctrl-C (or Ctrl-\\) typed at the terminal
    /// reaches it directly when sdctl is in the terminal's foreground; those two signals are
    /// forwarded only when it is not, so the child sees each exactly once. Every other signal,
    /// and every signal while sdctl runs in the background or under a supervisor, is forwarded.
    static func runWrapped(_ command: [String], registrar: any Registrar, _ context: CommandContext)
        async throws(CLIError) -> ExitCode
    {
        // Trapped before the child exists, so that no signal in between kills sdctl.
        let child = Mutex<ChildProcess?>(nil)
        let watcher = await SignalWatcher.start(forwarded) { number in
            if (number == SIGINT || number == SIGQUIT) && Self.ownsTerminalForeground() { return }
            child.withLock { $0 }?.signal(number)
        }
        defer { watcher.cancel() }
        let spawned = try ChildProcess.spawn(command)
        child.withLock { $0 = spawned }
        async let termination = spawned.wait()
        do {
            try await register(registrar, context)
        } catch {
            context.output.note("\(error.message); stopping \(command[0])")
            spawned.signal(SIGTERM)
            _ = await termination
            throw error
        }
        printRegistered(registrar, context)
        let ended = await termination
        context.logger.info("wrapped command ended; deregistering", metadata: ["termination": "\(ended)"])
        try await deregister(registrar, context)
        return ExitCode(ended.exitCode)
    }

    /// Whether this process's group is the foreground of the terminal on stdin, where the
    /// terminal's own SIGINT and SIGQUIT reach the whole group.
    static func ownsTerminalForeground() -> Bool {
        isatty(0) == 1 && tcgetpgrp(0) == getpgrp()
    }
}
