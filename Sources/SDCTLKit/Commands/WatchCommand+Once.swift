import Discovery

extension WatchCommand {
    /// `watch --once`: waits for the first answer of every target, prints it as `watch` does,
    /// renders the templates and runs `--exec` once with it, and exits: 0 when all of that
    /// worked, 1 when a template could not be written or a command failed, 3 when a target
    /// has no instances (unless `--allow-empty`: nothing is rendered from an empty set
    /// otherwise), a backend's code when a target gives no first answer.
    static func once(
        _ inputs: WatchInputs, targets: [LabelledTarget], command: String?, templates: [TemplateSpec],
        _ context: CommandContext
    ) async throws(CLIError) -> ExitCode {
        let first = await withTimeout(context.timeout) { () async -> Result<[[Instance]], OnceFailure> in
            var sets = [[Instance]?](repeating: nil, count: targets.count)
            for await input in inputs {
                guard case .event(let index, let event) = input else { continue }
                switch event {
                case .instances(let set):
                    sets[index] = sets[index] ?? set
                    if !sets.contains(where: { $0 == nil }) { return .success(sets.map { $0! }) }
                case .failure(let error):
                    if sets[index] == nil { return .failure(OnceFailure(target: index, error: error)) }
                }
            }
            return .failure(OnceFailure(target: nil, error: nil))
        }
        let sets: [[Instance]]
        switch first {
        case nil:
            throw CLIError(
                .unavailable,
                "no answer from every target within --timeout \(DurationParser.format(context.timeout ?? .zero))"
            )
        case .failure(let failure)?:
            guard let index = failure.target, let error = failure.error else {
                throw CLIError(.failure, "the watch ended before every target answered")
            }
            let cliError = targets[index].target.backend.cliError(error)
            guard targets.count > 1 else { throw cliError }
            throw CLIError(cliError.exitCode, "\(targets[index].label): \(cliError.message)")
        case .success(let answered)?:
            sets = answered
        }
        for (index, set) in sets.enumerated() {
            report(set, previous: nil, label: targets.count > 1 ? targets[index].label : nil, context)
        }
        if !context.invocation.has("allow-empty"), let empty = sets.firstIndex(where: \.isEmpty) {
            throw CLIError(
                .noInstances,
                "\(targets[empty].label.terminalSafe) has no instances; nothing was rendered or run (--allow-empty renders it empty)"
            )
        }
        let snapshot = snapshot(targets, sets)
        let output = context.output
        var failures = TemplateRunner.Failures()
        var succeeded = await TemplateRunner.round(
            templates, snapshot, failures: &failures, quiet: false, report: { output.note($0) })
        if let command {
            let outcome = await WatchHandler.run(command, snapshot, previous: nil, run: 1, quiet: false)
            if outcome.failed {
                output.note("--exec \(outcome.summary)")
                succeeded = false
            }
        }
        return succeeded ? .success : .failure
    }

    struct OnceFailure: Error {
        var target: Int?
        var error: DiscoveryError?
    }
}
