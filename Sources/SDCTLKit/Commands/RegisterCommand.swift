import Discovery

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
        let registrar = try target.backend.makeRegistrar(for: instance, ttl: ttl, context)
        if let command = context.invocation.trailing {
            return try await runWrapped(command, registrar: registrar, context)
        }
        // Catch signals before registering, so an early SIGTERM still deregisters.
        let latch = SignalLatch([SIGINT, SIGTERM])
        defer { latch.cancel() }
        try await register(registrar, context)
        // Ends at a signal, or when this task is cancelled (stdout's reader went away).
        let number = await latch.wait()
        context.logger.info("deregistering", metadata: ["signal": "\(number.map(String.init) ?? "none")"])
        // A task of its own: deregistering must not inherit a cancellation.
        let deregistered = await Task { () async -> Result<Void, CLIError> in
            do throws(CLIError) {
                return .success(try await deregister(registrar, context))
            } catch {
                return .failure(error)
            }
        }.value
        try deregistered.get()
        return .success
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
    static func runWrapped(_ command: [String], registrar: any Registrar, _ context: CommandContext)
        async throws(CLIError) -> ExitCode
    {
        let child = try ChildProcess.spawn(command)
        let watcher = SignalWatcher(forwarded) { number in child.signal(number) }
        defer { watcher.cancel() }
        async let termination = child.wait()
        do {
            try await register(registrar, context)
        } catch {
            context.output.note("\(error.message); stopping \(command[0])")
            child.signal(SIGTERM)
            _ = await termination
            throw error
        }
        let ended = await termination
        context.logger.info("\(command[0]) ended (\(ended)); deregistering")
        try await deregister(registrar, context)
        return ExitCode(ended.exitCode)
    }
}
