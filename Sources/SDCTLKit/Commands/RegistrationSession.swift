import Discovery
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One run of `sdctl register`: waits for the readiness probe, registers, holds the
/// registration (taking it out while the probe fails and putting it back when it passes), and
/// ends at a signal, at the wrapped command's exit, or when nobody reads stdout any more:
/// draining first when asked to, deregistering always.
///
/// Signals and the wrapped command's end are kept in order in ``stops``, so that one arriving
/// while the session is busy (connecting, probing) ends that step instead of being lost.
struct RegistrationSession {
    /// What ends a step of the session.
    enum Stop: Sendable {
        case signal(Int32)
        case exited(ChildProcess.Termination)
    }

    /// How a step raced against ``stops`` ended.
    enum Raced<Value: Sendable>: Sendable {
        case finished(Value)
        case stopped(Stop)
        /// The command was cancelled: its stdout reader went away.
        case cancelled
    }

    let context: CommandContext
    let plan: RegistrationPlan
    let makeRegistrar: @Sendable () throws(CLIError) -> any Registrar
    var registrar: any Registrar
    let stops = EventLog<Stop>()
    /// How many of ``stops`` have been handled.
    var handled = 0
    let child = ChildSlot()
    var termination: ChildProcess.Termination?
    /// Whether the registration is in now.
    var registered = false
    /// Whether it was ever in (its id was printed): a signal then ends the run with success.
    var announced = false

    init(
        _ context: CommandContext, plan: RegistrationPlan,
        makeRegistrar: @escaping @Sendable () throws(CLIError) -> any Registrar
    ) throws(CLIError) {
        self.context = context
        self.plan = plan
        self.makeRegistrar = makeRegistrar
        self.registrar = try makeRegistrar()
    }

    mutating func run() async throws(CLIError) -> ExitCode {
        // Trapped before the child exists or registering starts: no signal in between kills sdctl.
        let watcher = await startWatchingSignals()
        defer { watcher.cancel() }
        if let command = plan.command {
            // Exactly once (DESIGN.md contract 10): at the terminal, in its foreground, the
            // child shares sdctl's group, so the terminal's Ctrl-C (and job control) reach it
            // directly and sdctl does not forward those; anywhere else it gets a group of its
            // own, so that a signal to sdctl's whole group (a script's `kill -- -PGID`, a CI
            // runner, `timeout`) reaches it only through sdctl's forward.
            let ownGroup = !RegisterCommand.ownsTerminalForeground()
            let spawned = try ChildProcess.spawn(command, ownProcessGroup: ownGroup)
            child.started(spawned, ownGroup: ownGroup)
            let stops = self.stops
            let child = self.child
            Task { stops.append(.exited(await spawned.wait(beforeReaping: { child.ended() }))) }
        }
        if let readiness = plan.readiness {
            let timeout = context.timeout
            let context = self.context
            switch await race({ await Self.waitUntilReady(readiness, timeout: timeout, context) }) {
            case .finished(nil): break
            case .finished(let failure?):
                try await giveUp(
                    CLIError(
                        .timedOut,
                        "\(readiness.url) did not pass within \(DurationParser.format(timeout!)) (\(failure)); not registered"
                    ))
            case .stopped(let stop): return try await end(stop)
            case .cancelled: return try await end(nil)
            }
        }
        let first = registrar
        let context = self.context
        switch await race({ await RegisterCommand.registerResult(first, context) }) {
        case .finished(.success): registered = true
        case .finished(.failure(let error)): try await giveUp(error)
        case .stopped(let stop): return try await end(stop)
        case .cancelled: return try await end(nil)
        }
        // Printed only once the registration has won the race with a signal: a script that
        // signals as soon as it reads the id gets a normal deregistration and exit 0.
        RegisterCommand.printRegistered(registrar, context)
        announced = true
        guard let readiness = plan.readiness else { return try await end(await nextStop()) }
        while true {
            switch await race({ await Self.failuresInARow(readiness, context) }) {
            case .finished(let failure):
                await lapse(readiness, failure)
                if let outcome = try await recover(readiness) { return outcome }
            case .stopped(let stop): return try await end(stop)
            case .cancelled: return try await end(nil)
            }
        }
    }

    /// Runs `step` until it finishes or the next stop comes, whichever is first; the other is
    /// cancelled and awaited.
    mutating func race<Value: Sendable>(_ step: @escaping @Sendable () async -> Value) async -> Raced<Value> {
        let stops = self.stops
        let position = handled
        let outcome = await withTaskGroup(of: Raced<Value>?.self) { group in
            group.addTask { .finished(await step()) }
            group.addTask { await stops.element(at: position).map { .stopped($0) } }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        if Task.isCancelled { return .cancelled }
        guard let outcome else { return .cancelled }
        if case .stopped(let stop) = outcome {
            handled += 1
            if case .exited(let ended) = stop { termination = ended }
        }
        return outcome
    }

    /// The next stop, waiting for it; `nil` if the command is cancelled first.
    mutating func nextStop() async -> Stop? {
        guard let stop = await stops.element(at: handled) else { return nil }
        handled += 1
        if case .exited(let ended) = stop { termination = ended }
        return stop
    }

    /// The wrapped command's end, waiting for it whatever else comes (signals meanwhile are
    /// forwarded by the watcher).
    mutating func waitForExit() async -> ChildProcess.Termination {
        while termination == nil {
            let stops = self.stops
            let position = handled
            // A task of its own: not cancelled with the command, the child's end always comes.
            let stop = await Task { await stops.element(at: position) }.value
            handled += 1
            if case .exited(let ended)? = stop { termination = ended }
        }
        return termination!
    }

    /// Ends the session at `stop` (`nil`: cancelled), draining first for a signal while
    /// registered when --drain is set.
    mutating func end(_ stop: Stop?) async throws(CLIError) -> ExitCode {
        switch stop {
        case nil:
            try await RegisterCommand.deregisterUncancelled(registrar, context)
            return .success
        case .exited(let ended):
            context.logger.info("wrapped command ended; deregistering", metadata: ["termination": "\(ended)"])
            try await RegisterCommand.deregisterUncancelled(registrar, context)
            return ExitCode(ended.exitCode)
        case .signal(let number):
            context.logger.info("signalled; deregistering", metadata: ["signal": "\(number)"])
            if registered, let drain = plan.drain { try await self.drain(for: drain) }
            if child.wasStarted {
                // Held back for draining (only a held signal is a stop when there is a child),
                // unless the terminal gave the child its own Ctrl-C already.
                let typed = number == SIGINT && child.sharesTerminalSignals
                if termination == nil, !typed { child.signal(number) }
                let ended = await waitForExit()
                try await RegisterCommand.deregisterUncancelled(registrar, context)
                return ExitCode(ended.exitCode)
            }
            try await RegisterCommand.deregisterUncancelled(registrar, context)
            return announced ? .success : ExitCode(128 + number)
        }
    }

    /// Takes the registration out (or marks it out of service, where the backend has that) and
    /// waits `duration`, so clients stop picking the instance before it stops. Another signal,
    /// or the wrapped command's end, cuts the wait short.
    mutating func drain(for duration: Duration) async throws(CLIError) {
        let id = registrar.instance.id ?? registrar.instance.address
        if let marking = registrar as? any OutOfServiceRegistrar {
            do {
                try await marking.markOutOfService()
                context.output.note(
                    "draining: \(id) marked out of service for \(DurationParser.format(duration))")
            } catch {
                context.output.note("draining: could not mark \(id) out of service (\(error)); deregistering")
                try await RegisterCommand.deregisterUncancelled(registrar, context)
            }
        } else {
            try await RegisterCommand.deregisterUncancelled(registrar, context)
            registered = false
            context.output.note(
                "draining: \(id) deregistered; stopping in \(DurationParser.format(duration))")
        }
        _ = await race { try? await Task.sleep(for: duration) }
    }

    /// Stops the wrapped command after a failure before registering, and throws the failure.
    mutating func giveUp(_ error: CLIError) async throws(CLIError) -> Never {
        if child.wasStarted {
            context.output.note("\(error.message); stopping \(plan.command![0])")
            if termination == nil { child.signal(SIGTERM) }
            _ = await waitForExit()
        }
        throw error
    }

    func startWatchingSignals() async -> SignalWatcher {
        let stops = self.stops
        guard plan.command != nil else {
            return await SignalWatcher.start([SIGINT, SIGTERM]) { stops.append(.signal($0)) }
        }
        // A child in sdctl's process group at the terminal's foreground gets a typed Ctrl-C (or
        // Ctrl-\) straight from the terminal: those two are not forwarded then, so it sees each
        // exactly once. Every other signal, and every signal to a child with a group of its
        // own, is forwarded; with --drain the first SIGTERM or SIGINT is held until the drain
        // ends. A signal before the child exists is kept for it (ChildSlot).
        let child = self.child
        let drains = plan.drain != nil
        return await SignalWatcher.start(RegisterCommand.forwarded) { number in
            if drains, number == SIGTERM || number == SIGINT,
                !child.heldOne.exchange(true, ordering: .relaxed)
            {
                stops.append(.signal(number))
                return
            }
            if (number == SIGINT || number == SIGQUIT) && child.sharesTerminalSignals { return }
            child.signal(number)
        }
    }
}
