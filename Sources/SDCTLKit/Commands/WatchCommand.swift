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
        case templateFailed(String)
    }

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let targets = try context.targets()
        let count = try context.integer("count", minimum: 1)
        let command = context.invocation.value("exec")
        if command?.allSatisfy(\.isWhitespace) == true { throw context.usage("--exec takes a command") }
        let gate = try gateConfiguration(context)
        // Every template is read and parsed before anything is watched: an error is exit 2.
        var templateSpecs: [TemplateSpec] = []
        for argument in context.invocation.values("template") {
            templateSpecs.append(try TemplateSpec(argument: argument))
        }
        let once = context.invocation.has("once")
        if command == nil, templateSpecs.isEmpty {
            for option in ["wait", "wait-first", "changes-only", "once", "allow-empty"]
            where context.invocation.has(option) {
                throw context.usage("--\(option) needs --exec or --template")
            }
        }
        if once, context.invocation.has("wait") || context.invocation.has("changes-only") || count != nil {
            throw context.usage("--once runs once: it takes neither --wait, --changes-only nor --count")
        }
        if context.invocation.has("allow-empty"), !once { throw context.usage("--allow-empty needs --once") }
        let live =
            context.format == .text && !context.invocation.has("plain") && !once
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
        if once {
            return try await Self.once(
                inputs, targets: targets, command: command, templates: templateSpecs, context)
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
        let templates =
            templateSpecs.isEmpty
            ? nil
            : TemplateRunner(templateSpecs, quiet: live) { message in
                if live { input.yield(.templateFailed(message)) } else { output.note(message) }
            }
        let actions = WatchActions(handler: handler, templates: templates, gate: gate)
        let ending: (target: Int, error: DiscoveryError)??
        let answered = AnsweredTargets(count: targets.count)
        if live {
            ending = await LiveWatch(
                targets: targets, instancers: instancers, context: context, actions: actions
            ).run(
                inputs, input, count: count, timeout: context.timeout)
        } else {
            // With a handler, SIGINT and SIGTERM end the watch after the run in progress (and the
            // one waiting) instead of leaving it orphaned halfway through, say, a proxy reload.
            // The printer is its own task so that a signal can cancel it even while it waits on a
            // stdout that nobody reads (Output gives up a write when its task is cancelled).
            let instancers = instancers
            let printer = Task {
                await withTimeout(context.timeout) {
                    await printLines(
                        inputs, targets: targets, instancers: instancers, count: count, actions: actions,
                        answered: answered, context)
                }
            }
            let signalled = Atomic<Int32>(0)
            let signals =
                actions.isEmpty
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
                await actions.finish()
                return ExitCode(128 + signalled.load(ordering: .relaxed))
            }
        }
        for feeder in feeders { feeder.cancel() }
        await actions.finish()
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

    /// `--wait MIN[:MAX]`, `--wait-first` and `--changes-only`.
    static func gateConfiguration(_ context: CommandContext) throws(CLIError)
        -> ChangeGateStateMachine.Configuration
    {
        var configuration = ChangeGateStateMachine.Configuration()
        configuration.skipFirst = context.invocation.has("changes-only")
        configuration.waitFirst = context.invocation.has("wait-first")
        if let wait = context.invocation.value("wait") {
            let parts = wait.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let minimum = DurationParser.parse(String(parts[0])), minimum > .zero else {
                throw context.usage(
                    "--wait takes MIN[:MAX], durations such as 2s:10s, not '\(wait.terminalSafe)'")
            }
            configuration.minimum = minimum
            if parts.count == 2 {
                guard let maximum = DurationParser.parse(String(parts[1])), maximum >= minimum else {
                    throw context.usage(
                        "--wait \(wait.terminalSafe): MAX must be a duration no shorter than MIN")
                }
                configuration.maximum = maximum
            } else {
                // consul-template's default: four times the minimum.
                configuration.maximum = minimum * 4
            }
        } else if configuration.waitFirst {
            throw context.usage("--wait-first needs --wait")
        }
        if configuration.waitFirst && configuration.skipFirst {
            throw context.usage("--wait-first and --changes-only cannot be used together")
        }
        return configuration
    }

    /// Today's line output: the first set, then each change, until `count` events or a failure
    /// that ends the watch.
    static func printLines(
        _ inputs: WatchInputs, targets: [LabelledTarget], instancers: [any Instancer], count: Int?,
        actions: WatchActions, answered: AnsweredTargets, _ context: CommandContext
    ) async -> (target: Int, error: DiscoveryError)? {
        var sets = [[Instance]?](repeating: nil, count: targets.count)
        // Whether each target's last event was a failure: a set after one clears it.
        var stale = [Bool](repeating: false, count: targets.count)
        var events = 0
        for await input in inputs {
            if case .signal = input { return nil }
            guard case .event(let index, let event) = input else { continue }
            let label = targets.count > 1 ? targets[index].label : nil
            switch event {
            case .instances(let set):
                report(
                    set, previous: sets[index], label: label, recovered: stale[index],
                    freshness: instancers[index].freshness, context)
                sets[index] = set
                stale[index] = false
                answered.answered(index)
                if !sets.contains(where: { $0 == nil }) { actions.changed(snapshot(targets, sets)) }
            case .failure(let error):
                // Without a first answer there is nothing to watch, and refused credentials
                // stay refused: both end the run. Later outages are reported and waited out.
                if sets[index] == nil || error.code == .permissionDenied { return (index, error) }
                report(error, label: label, freshness: instancers[index].freshness, context)
                stale[index] = true
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

    static func report(
        _ set: [Instance], previous: [Instance]?, label: String?, recovered: Bool = false,
        freshness: InstanceFreshness? = nil, _ context: CommandContext
    ) {
        let (added, removed, changed) = difference(set, previous: previous)
        let now = InstanceFreshness.now()
        let time = timestamp(now)
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
            // A set line is news from the backend: not stale, whatever came after it.
            line += ",\"confirmed\":"
            JSONValue.quote(
                timestamp(freshness.flatMap { $0.isStale ? nil : $0.confirmed } ?? now), into: &line)
            line += ",\"stale\":false"
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
            line += ",\"changed\":"
            JSONValue.render(changed, into: &line, flushing: flush)
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
            changes += changed.map { output.paint("~\($0.address.terminalSafe)", "33") }
            if changes.isEmpty { changes = [recovered ? "confirmed again" : "~metadata"] }
            output.line("\(time)  \(prefix)\(changes.joined(separator: " "))  (\(set.count) \(noun))")
        }
    }

    /// What joined, what left, and what changed under the same address (tags, metadata,
    /// weight, priority, zone or id), by one walk over both sets, which instancers keep sorted
    /// by address: sets of 100,000 instances keyed by address in dictionaries held two more
    /// copies of every instance. The first event adds the whole set.
    static func difference(_ set: [Instance], previous: [Instance]?) -> (
        added: [Instance], removed: [Instance], changed: [Instance]
    ) {
        guard let previous else { return (set, [], []) }
        var added: [Instance] = []
        var removed: [Instance] = []
        var changed: [Instance] = []
        var new = 0
        var old = 0
        while new < set.count || old < previous.count {
            if old == previous.count || (new < set.count && set[new].address < previous[old].address) {
                added.append(set[new])
                new += 1
            } else if new == set.count || previous[old].address < set[new].address {
                removed.append(previous[old])
                old += 1
            } else {
                // The instances at this address in each set (usually one).
                let address = set[new].address
                let newEnd = set[new...].firstIndex { $0.address != address } ?? set.count
                let oldEnd = previous[old...].firstIndex { $0.address != address } ?? previous.count
                if !set[new..<newEnd].elementsEqual(previous[old..<oldEnd]) { changed += set[new..<newEnd] }
                new = newEnd
                old = oldEnd
            }
        }
        return (added, removed, changed)
    }

    static func report(
        _ error: DiscoveryError, label: String?, freshness: InstanceFreshness? = nil,
        _ context: CommandContext
    ) {
        let now = InstanceFreshness.now()
        let time = timestamp(now)
        switch context.format {
        case .json:
            var members: [(String, JSONValue)] = [("time", .string(time))]
            if let label { members.append(("target", .string(label))) }
            members.append(("error", .string(error.message)))
            // The set kept through the error, and when the backend last stood behind it.
            if let freshness { members.append(("confirmed", .string(timestamp(freshness.confirmed)))) }
            members.append(("stale", .bool(true)))
            context.output.json(.object(members))
        case .text:
            let prefix = label.map { "\($0.terminalSafe)  " } ?? ""
            let kept = freshness.map {
                "  (set kept; confirmed \(DurationParser.format(roundedAge($0, now: now))) ago)"
            }
            context.output.line(
                "\(time)  \(prefix)\(context.output.paint("error:", "31")) \(error.message.terminalSafe)\(kept ?? "")"
            )
        }
    }

    /// RFC 3339 in UTC with milliseconds, of a time since the epoch.
    static func timestamp(_ time: Duration) -> String {
        let (seconds, attoseconds) = time.components
        return Timestamp.format(seconds: Int(seconds), nanoseconds: Int(attoseconds / 1_000_000_000))
    }

    /// How long ago `freshness` was confirmed, to the second (to the millisecond under one).
    static func roundedAge(_ freshness: InstanceFreshness, now: Duration) -> Duration {
        let age = freshness.age(now: now)
        return age < .seconds(1) ? age : .seconds(age.components.seconds)
    }
}
