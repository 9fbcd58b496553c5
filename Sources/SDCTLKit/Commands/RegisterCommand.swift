import Discovery

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `sdctl register TARGET ADDRESS [--id ID] [--tag T]... [--meta K=V]... [--ttl D] [--ready URL]
/// [--drain D] [-- CMD...]`
enum RegisterCommand: Command {
    static let path = ["register"]
    static var spec: CommandSpec { CommandTable.register }

    /// Signals passed on to a wrapped command.
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let target = try context.target()
        let instance = try makeInstance(context)
        let ttl = try context.duration("ttl")
        let plan = try RegistrationPlan.parse(context)
        var session = try RegistrationSession(context, plan: plan) { () throws(CLIError) in
            try target.backend.registering().makeRegistrar(for: instance, ttl: ttl, context)
        }
        return try await session.run()
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

    /// ``register(_:_:)``, as a value: for racing against signals.
    static func registerResult(_ registrar: any Registrar, _ context: CommandContext) async -> Result<
        Void, CLIError
    > {
        do throws(CLIError) {
            return .success(try await register(registrar, context))
        } catch {
            return .failure(error)
        }
    }

    /// The registration's id (or its id and address with -o json), on stdout.
    static func printRegistered(_ registrar: any Registrar, _ context: CommandContext) {
        let id = registrar.instance.id ?? registrar.instance.address
        switch context.format {
        case .text: context.output.line(id.terminalSafe)
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

    /// Whether this process's group is the foreground of its controlling terminal, where the
    /// terminal's own SIGINT and SIGQUIT reach the whole group.
    static func ownsTerminalForeground() -> Bool {
        // The controlling terminal itself, not fd 0: stdin may be redirected (`< /dev/null`)
        // while Ctrl-C still comes from the terminal.
        let terminal = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)
        guard terminal >= 0 else { return false }
        defer { close(terminal) }
        return tcgetpgrp(terminal) == getpgrp()
    }
}
