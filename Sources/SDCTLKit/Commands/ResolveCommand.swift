import Discovery
import Logging
import Synchronization

/// `sdctl resolve TARGET... [--wait-for N] [--compare] [--probe KIND] [--pick BALANCER ...]`
enum ResolveCommand: Command {
    static let path = ["resolve"]
    static var spec: CommandSpec { CommandTable.resolve }

    /// How long resolve waits for a first answer when neither --timeout nor --wait-for is given.
    static let defaultTimeout: Duration = .seconds(10)

    /// What one target answered.
    enum Answer: Sendable {
        /// The set, and how current the backend said it is.
        case instances([Instance], InstanceFreshness)
        /// `partial` is what it had seen when it failed (a --wait-for that timed out).
        case failed(CLIError, partial: [Instance]?)
    }

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let targets = try context.targets()
        let waitFor = try context.integer("wait-for", minimum: 1)
        let pick = try PickRequest.parse(context)
        let compare = context.invocation.has("compare")
        let probe = try probe(context)
        let maxStale = try context.duration("max-stale")
        if targets.count > 1, pick != nil { throw context.usage("--pick takes one TARGET") }
        if compare, targets.count < 2 { throw context.usage("--compare needs two or more TARGETs") }
        if compare, probe != nil { throw context.usage("--compare and --probe go separately") }
        if pick != nil, probe != nil { throw context.usage("--pick and --probe go separately") }
        if maxStale != nil, pick != nil || probe != nil || compare {
            throw context.usage(
                "--max-stale checks the set: it goes with neither --pick, --probe nor --compare")
        }

        let answers = await withTaskGroup(of: (Int, Answer).self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask { (index, await resolve(target.target, waitFor: waitFor, context)) }
            }
            var answers = [Answer?](repeating: nil, count: targets.count)
            for await (index, answer) in group { answers[index] = answer }
            return answers.map { $0! }
        }
        if targets.count == 1 {
            switch answers[0] {
            case .failed(let error, let partial):
                if let partial { print(partial, nil, context) }
                throw error
            case .instances(let set, let freshness):
                if let probe { return await printProbed([(nil, set)], probe, context) }
                guard let pick, !set.isEmpty else {
                    print(set, freshness, context)
                    if let tooStale = tooStale([(targets[0].label, freshness)], maxStale, context) {
                        return tooStale
                    }
                    return set.isEmpty ? noInstances(in: [targets[0].label], context) : .success
                }
                do {
                    printPicks(try picks(pick, from: set), pick, context)
                } catch {
                    throw targets[0].target.backend.cliError(error)
                }
                return .success
            }
        }
        return try await runSeveral(
            targets, answers, compare: compare, probe: probe, maxStale: maxStale, context)
    }

    /// The first answer of `target`'s instancer, or the first with at least `waitFor` instances;
    /// without `waitFor`, a backend that can read its set once without a watch does that.
    static func resolve(_ target: Target, waitFor: Int?, _ context: CommandContext) async -> Answer {
        let timeout = context.timeout ?? (waitFor == nil ? defaultTimeout : nil)
        if waitFor == nil {
            // Within --timeout as the instancer's first answer is: cancelled when it runs out.
            let once = await withTimeout(timeout) { () async -> Result<[Instance]?, CLIError> in
                do throws(CLIError) {
                    return .success(try await target.backend.resolveOnce(context))
                } catch {
                    return .failure(error)
                }
            }
            switch once {
            case .some(.success(let set?)):
                return .instances(set, InstanceFreshness(confirmed: InstanceFreshness.now(), isStale: false))
            case .some(.success(nil)):
                break  // this backend answers through its instancer
            case .some(.failure(let error)):
                return .failed(error, partial: nil)
            case .none:
                return .failed(
                    CLIError(
                        .unavailable,
                        "timed out after \(DurationParser.format(timeout!)) waiting for an answer from the backend"
                    ),
                    partial: nil)
            }
        }
        let instancer: any Instancer
        do {
            instancer = try target.backend.makeInstancer(context)
        } catch {
            return .failed(error, partial: nil)
        }
        defer { instancer.stop() }
        let subscription = instancer.subscribe()
        let seen = Mutex<[Instance]?>(nil)

        let outcome = await withTimeout(timeout) { () async -> Result<[Instance], DiscoveryError>? in
            for await event in subscription {
                switch event {
                case .instances(let set):
                    seen.withLock { $0 = set }
                    if set.count >= (waitFor ?? 0) { return .success(set) }
                case .failure(let error):
                    // Without --wait-for the first answer decides; with it, the backend retries.
                    if waitFor == nil { return .failure(error) }
                    context.logger.info("backend error while waiting", metadata: ["error": "\(error)"])
                }
            }
            return nil
        }
        switch outcome {
        case .some(.some(.success(let set))):
            // Just answered: confirmed now, unless the backend said its answer lags.
            return .instances(
                set,
                instancer.freshness ?? InstanceFreshness(confirmed: InstanceFreshness.now(), isStale: false))
        case .some(.some(.failure(let error))):
            return .failed(target.backend.cliError(error), partial: nil)
        case .some(.none):
            return .failed(CLIError(.failure, "the instancer stopped before answering"), partial: nil)
        case .none:
            let partial = seen.withLock { $0 }
            let wanted = waitFor.map { "\($0) instance(s)" } ?? "an answer from the backend"
            let got = partial.map { "; saw \($0.count)" } ?? ""
            // No answer at all is the backend's failure to answer (69, as a refused connection
            // is); an answer that fell short of --wait-for is sdctl's own wait running out (124).
            return .failed(
                CLIError(
                    partial == nil ? .unavailable : .timedOut,
                    "timed out after \(DurationParser.format(timeout!)) waiting for \(wanted)\(got)"),
                partial: partial)
        }
    }

    /// Exit 3 with its one stderr line, unless the backend has given the reason already (DNS
    /// SRV's NXDOMAIN or empty answer).
    static func noInstances(in labels: [String], _ context: CommandContext) -> ExitCode {
        if !context.shownEvents.contains(.noInstances) {
            let named = labels.filter { !$0.isEmpty }
            context.output.note(
                named.isEmpty ? "no instances" : "no instances in \(named.joined(separator: ", "))")
        }
        return .noInstances
    }

    static func print(_ set: [Instance], _ freshness: InstanceFreshness?, _ context: CommandContext) {
        switch context.format {
        case .text:
            // One write for the set (in pipe-buffer pieces), not a poll(2) and a write(2) a line.
            var text = ""
            for instance in set {
                text += instance.address.terminalSafe
                text += "\n"
            }
            if !text.isEmpty { context.output.write(piece: text) }
        case .json:
            context.output.json(
                .object(freshnessMembers(freshness) + [("instances", .array(set.map(JSONValue.init)))]))
        }
    }

    /// `"confirmed"` and `"stale"`, as JSON object members, when known.
    static func freshnessMembers(_ freshness: InstanceFreshness?) -> [(String, JSONValue)] {
        guard let freshness else { return [] }
        return [
            ("confirmed", .string(WatchCommand.timestamp(freshness.confirmed))),
            ("stale", .bool(freshness.isStale)),
        ]
    }

    /// `--max-stale`: exit 6, with a line naming each target whose set is stale or was
    /// confirmed longer ago than allowed; nil when every one is fresh enough (or no limit).
    static func tooStale(
        _ sets: [(label: String, freshness: InstanceFreshness)], _ maxStale: Duration?,
        _ context: CommandContext
    ) -> ExitCode? {
        guard let maxStale else { return nil }
        let now = InstanceFreshness.now()
        var reasons: [String] = []
        for (label, freshness) in sets {
            let age = WatchCommand.roundedAge(freshness, now: now)
            let name = label.isEmpty ? "" : "\(label): "
            if freshness.isStale {
                reasons.append("\(name)kept through an error, confirmed \(DurationParser.format(age)) ago")
            } else if freshness.age(now: now) > maxStale {
                reasons.append(
                    "\(name)confirmed \(DurationParser.format(age)) ago, more than --max-stale \(DurationParser.format(maxStale))"
                )
            }
        }
        guard !reasons.isEmpty else { return nil }
        for reason in reasons { context.output.note("set too stale: \(reason)") }
        return .tooStale
    }
}
