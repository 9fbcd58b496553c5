import Discovery
import FileDiscovery
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `sdctl watch TARGET... [--count N] [--exec CMD] [--plain]`
enum WatchCommand: Command {
    static let path = ["watch"]
    static var spec: CommandSpec { CommandTable.watch }

    /// What the watch reacts to, from every source at once.
    enum Input: Sendable {
        case event(target: Int, InstancerEvent)
        case key(UInt8)
        case tick
        case resize
        case signal(Int32)
        case handlerEnded(WatchHandler.Outcome)
    }

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let targets = try context.targets()
        let count = try context.integer("count", minimum: 1)
        let command = context.invocation.value("exec")
        if command?.allSatisfy(\.isWhitespace) == true { throw context.usage("--exec takes a command") }
        let live =
            context.format == .text && !context.invocation.has("plain")
            && LiveTerminal.isUsable(environment: context.environment)
        var instancers: [any Instancer] = []
        defer { for instancer in instancers { instancer.stop() } }
        for target in targets { instancers.append(try target.target.backend.makeInstancer(context)) }

        let (stream, input) = AsyncStream.makeStream(of: Input.self)
        let inputs = WatchInputs(stream, targets: instancers.count)
        var feeders: [Task<Void, Never>] = []
        defer { for feeder in feeders { feeder.cancel() } }
        for (index, instancer) in instancers.enumerated() {
            feeders.append(inputs.feed(instancer.subscribe(), target: index, into: input))
        }
        let output = context.output
        let handler = command.map { command in
            WatchHandler(command: command, quiet: live) { outcome in
                if live {
                    input.yield(.handlerEnded(outcome))
                } else if outcome.failed {
                    output.note("--exec \(outcome.summary); it runs again at the next change")
                }
            }
        }
        let ending: (target: Int, error: DiscoveryError)??
        let answered = AnsweredTargets(count: targets.count)
        if live {
            ending = await LiveWatch(targets: targets, context: context, handler: handler).run(
                inputs, input, count: count, timeout: context.timeout)
        } else {
            // With a handler, SIGINT and SIGTERM end the watch after the run in progress (and the
            // one waiting) instead of leaving it orphaned halfway through, say, a proxy reload.
            // The printer is its own task so that a signal can cancel it even while it waits on a
            // stdout that nobody reads (Output gives up a write when its task is cancelled).
            let printer = Task {
                await withTimeout(context.timeout) {
                    await printLines(
                        inputs, targets: targets, count: count, handler: handler, answered: answered, context)
                }
            }
            let signalled = Atomic<Int32>(0)
            let signals =
                handler == nil
                ? nil
                : await SignalWatcher.start([SIGINT, SIGTERM]) { number in
                    signalled.store(number, ordering: .relaxed)
                    input.yield(.signal(number))
                    printer.cancel()
                }
            defer { signals?.cancel() }
            ending = await withTaskCancellationHandler {
                await printer.value
            } onCancel: {
                printer.cancel()
            }
            if signalled.load(ordering: .relaxed) != 0 {
                for feeder in feeders { feeder.cancel() }
                await handler?.finish()
                return ExitCode(128 + signalled.load(ordering: .relaxed))
            }
        }
        for feeder in feeders { feeder.cancel() }
        await handler?.finish()
        if case .some(.some(let failure)) = ending {
            let error = targets[failure.target].target.backend.cliError(failure.error)
            guard targets.count > 1 else { throw error }
            throw CLIError(error.exitCode, "\(targets[failure.target].label): \(error.message)")
        }
        // --timeout ran out before a target's first answer (a server that accepts and never
        // answers, or drips): that is a backend giving no answer in time, not a finished watch.
        if !live, ending == nil, let timeout = context.timeout, let silent = answered.firstSilent {
            throw CLIError(
                .unavailable,
                "no answer from \(targets[silent].label) within --timeout \(DurationParser.format(timeout))")
        }
        return .success
    }

    /// Today's line output: the first set, then each change, until `count` events or a failure
    /// that ends the watch.
    static func printLines(
        _ inputs: WatchInputs, targets: [LabelledTarget], count: Int?, handler: WatchHandler?,
        answered: AnsweredTargets, _ context: CommandContext
    ) async -> (target: Int, error: DiscoveryError)? {
        var sets = [[Instance]?](repeating: nil, count: targets.count)
        var events = 0
        for await input in inputs {
            if case .signal = input { return nil }
            guard case .event(let index, let event) = input else { continue }
            let label = targets.count > 1 ? targets[index].label : nil
            switch event {
            case .instances(let set):
                report(set, previous: sets[index], label: label, context)
                sets[index] = set
                answered.answered(index)
                if !sets.contains(where: { $0 == nil }) { handler?.changed(snapshot(targets, sets)) }
            case .failure(let error):
                // Without a first answer there is nothing to watch, and refused credentials
                // stay refused: both end the run. Later outages are reported and waited out.
                if sets[index] == nil || error.code == .permissionDenied { return (index, error) }
                report(error, label: label, context)
            }
            events += 1
            if let count, events >= count { return nil }
        }
        return nil
    }

    /// The sets of the targets, for --exec, which runs only once every target has answered: a
    /// handler never sees a target as empty because it has not answered yet.
    static func snapshot(_ targets: [LabelledTarget], _ sets: [[Instance]?]) -> WatchHandler.Snapshot {
        WatchHandler.Snapshot(groups: zip(targets, sets).map { ($0.label, $1 ?? []) })
    }

    static func report(_ set: [Instance], previous: [Instance]?, label: String?, _ context: CommandContext) {
        // Addresses only: sets of 100,000 instances keyed by address held two more copies of
        // every instance beside the old and new sets.
        let added: [Instance]
        let removed: [Instance]
        if let previous {
            let old = Set(previous.lazy.map(\.address))
            let new = Set(set.lazy.map(\.address))
            added = set.filter { !old.contains($0.address) }
            removed = previous.filter { !new.contains($0.address) }
        } else {
            (added, removed) = (set, [])  // the first event adds the whole set
        }
        let time = Timestamp.now()
        switch context.format {
        case .json:
            // Rendered instance by instance and written a piece at a time: a tree of JSONValues
            // for every instance, or the whole line (twice the set on a first event), cost more
            // memory than the sets (docs/benchmarks.md, "Memory per 100,000 instances").
            var line = "{\"time\":"
            JSONValue.quote(time, into: &line)
            if let label {
                line += ",\"target\":"
                JSONValue.quote(label, into: &line)
            }
            let output = context.output
            let flush = { (piece: inout String) in
                output.write(piece: piece)
                piece.removeAll(keepingCapacity: true)
            }
            line += ",\"instances\":"
            JSONValue.render(set, into: &line, flushing: flush)
            line += ",\"added\":"
            JSONValue.render(added, into: &line, flushing: flush)
            line += ",\"removed\":"
            JSONValue.render(removed, into: &line, flushing: flush)
            line += "}\n"
            output.write(piece: line)
        case .text:
            let output = context.output
            let prefix = label.map { "\($0.terminalSafe)  " } ?? ""
            let noun = set.count == 1 ? "instance" : "instances"
            if previous == nil {
                output.line("\(time)  \(prefix)\(set.count) \(noun)")
                for instance in set { output.line("  \(instance.address.terminalSafe)") }
                return
            }
            var changes = added.map { output.paint("+\($0.address.terminalSafe)", "32") }
            changes += removed.map { output.paint("-\($0.address.terminalSafe)", "31") }
            if changes.isEmpty { changes = ["~metadata"] }
            output.line("\(time)  \(prefix)\(changes.joined(separator: " "))  (\(set.count) \(noun))")
        }
    }

    static func report(_ error: DiscoveryError, label: String?, _ context: CommandContext) {
        let time = Timestamp.now()
        switch context.format {
        case .json:
            var members: [(String, JSONValue)] = [("time", .string(time))]
            if let label { members.append(("target", .string(label))) }
            members.append(("error", .string(error.message)))
            context.output.json(.object(members))
        case .text:
            let prefix = label.map { "\($0.terminalSafe)  " } ?? ""
            context.output.line(
                "\(time)  \(prefix)\(context.output.paint("error:", "31")) \(error.message.terminalSafe)")
        }
    }
}
