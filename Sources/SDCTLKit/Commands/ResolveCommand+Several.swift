import Discovery

/// `sdctl resolve TARGET TARGET... [--compare]`: several targets at once, each line labelled
/// with the target it came from, or the difference between them.
extension ResolveCommand {
    static func runSeveral(
        _ targets: [LabelledTarget], _ answers: [Answer], compare: Bool, probe: Probe?,
        maxStale: Duration? = nil, _ context: CommandContext
    ) async throws(CLIError) -> ExitCode {
        var answered: [(label: String, set: [Instance])] = []
        var freshness: [String: InstanceFreshness] = [:]
        var failures: [(label: String, error: CLIError)] = []
        for (target, answer) in zip(targets, answers) {
            switch answer {
            case .instances(let set, let confirmed):
                answered.append((target.label, set))
                freshness[target.label] = confirmed
            case .failed(let error, let partial):
                failures.append((target.label, error))
                if let partial, !compare { answered.append((target.label, partial)) }
            }
        }
        // Every failure but the one thrown is noted here: each target's reason reaches stderr once.
        for failure in failures.dropFirst() {
            context.output.note("\(failure.label): \(failure.error.message)")
        }
        let firstFailure = failures.first.map {
            CLIError($0.error.exitCode, "\($0.label): \($0.error.message)")
        }
        if compare {
            if let firstFailure { throw firstFailure }
            return printComparison(answered, context)
        }
        let status: ExitCode
        if let probe {
            status = await printProbed(answered.map { ($0.label, $0.set) }, probe, context)
        } else {
            printLabelled(answered, failures: failures, freshness: freshness, context)
            let stale = tooStale(
                answered.compactMap { answer in freshness[answer.label].map { (answer.label, $0) } },
                maxStale, context)
            status =
                stale
                ?? (answered.allSatisfy({ $0.set.isEmpty }) && firstFailure == nil
                    ? noInstances(in: answered.map(\.label), context) : .success)
        }
        if let firstFailure { throw firstFailure }
        return status
    }

    static func printLabelled(
        _ answered: [(label: String, set: [Instance])], failures: [(label: String, error: CLIError)],
        freshness: [String: InstanceFreshness] = [:], _ context: CommandContext
    ) {
        switch context.format {
        case .text:
            let width = answered.map(\.label.terminalSafe.count).max() ?? 0
            for (label, set) in answered {
                for instance in set {
                    context.output.line(
                        "\(label.terminalSafe.padding(width))  \(instance.address.terminalSafe)")
                }
            }
        case .json:
            var groups = answered.map { answer -> JSONValue in
                .object(
                    [("target", .string(answer.label))] + freshnessMembers(freshness[answer.label])
                        + [("instances", .array(answer.set.map(JSONValue.init)))])
            }
            groups += failures.map {
                .object([("target", .string($0.label)), ("error", .string($0.error.message))])
            }
            context.output.json(.array(groups))
        }
    }

    /// Prints each address that is in some targets and not in others; exits 0 when every
    /// target has the same addresses and ``ExitCode/targetsDiffer`` when they do not.
    static func printComparison(_ answered: [(label: String, set: [Instance])], _ context: CommandContext)
        -> ExitCode
    {
        let addressSets = answered.map { Set($0.set.map(\.address)) }
        var differences: [(address: String, in: [String], notIn: [String])] = []
        var seen = Set<String>()
        for (_, set) in answered {
            for instance in set where seen.insert(instance.address).inserted {
                let holders = zip(answered, addressSets).filter { $0.1.contains(instance.address) }.map(
                    \.0.label)
                guard holders.count < answered.count else { continue }
                let others = answered.map(\.label).filter { !holders.contains($0) }
                differences.append((instance.address, holders, others))
            }
        }
        switch context.format {
        case .text:
            for difference in differences {
                context.output.line(
                    "\(difference.address)  in \(difference.in.joined(separator: ", ")), "
                        + "not in \(difference.notIn.joined(separator: ", "))".terminalSafe)
            }
            if differences.isEmpty {
                let count = addressSets.first?.count ?? 0
                context.output.note("every target has the same \(count) instance\(count == 1 ? "" : "s")")
            }
        case .json:
            let targets = zip(answered, addressSets).map { answer, addresses -> JSONValue in
                let only = answer.set.filter { instance in
                    !zip(answered, addressSets).allSatisfy { $0.1.contains(instance.address) }
                }
                return .object([
                    ("target", .string(answer.label)), ("count", .int(addresses.count)),
                    ("not_everywhere", .array(only.map(JSONValue.init))),
                ])
            }
            let rows = differences.map { difference -> JSONValue in
                .object([
                    ("address", .string(difference.address)),
                    ("in", .array(difference.in.map(JSONValue.string))),
                    ("not_in", .array(difference.notIn.map(JSONValue.string))),
                ])
            }
            context.output.json(
                .object([
                    ("same", .bool(differences.isEmpty)), ("differences", .array(rows)),
                    ("targets", .array(targets)),
                ]))
        }
        guard differences.isEmpty else {
            let count = differences.count
            context.output.note("the targets differ in \(count) address\(count == 1 ? "" : "es")")
            return .targetsDiffer
        }
        return .success
    }
}
