import Discovery

/// `sdctl resolve TARGET... --probe tcp|http[:/PATH]`: which of the instances answer.
extension ResolveCommand {
    /// The --probe option, or nil without it (--probe-timeout is then refused).
    static func probe(_ context: CommandContext) throws(CLIError) -> Probe? {
        let timeout = try context.duration("probe-timeout")
        guard let kind = context.invocation.value("probe") else {
            if timeout != nil { throw context.usage("--probe-timeout goes with --probe") }
            return nil
        }
        return try Probe.parse(kind: kind, timeout: timeout ?? Probe.defaultTimeout, context)
    }

    /// Probes every instance of every group at once (``Probe/concurrency`` at a time) and
    /// prints each with what its probe found. Exits 0 when any answered,
    /// ``ExitCode/noneReachable`` when none did, ``ExitCode/noInstances`` when there were none.
    static func printProbed(
        _ groups: [(label: String?, set: [Instance])], _ probe: Probe, _ context: CommandContext
    )
        async -> ExitCode
    {
        let instances = groups.flatMap(\.set)
        var addresses: [HostPort?] = []
        for instance in instances { addresses.append(try? HostPort(parsing: instance.address)) }
        let checked = await probe.checkAll(addresses.compactMap { $0 })
        var next = checked.makeIterator()
        let results = addresses.map { address in
            address == nil
                ? ProbeResult(reachable: false, latency: .zero, failure: "not a HOST:PORT address")
                : next.next()!
        }
        var offset = 0
        var rows: [[(instance: Instance, result: ProbeResult)]] = []
        for group in groups {
            rows.append(Array(zip(group.set, results[offset..<(offset + group.set.count)])))
            offset += group.set.count
        }
        switch context.format {
        case .text:
            let labelWidth = groups.compactMap(\.label?.terminalSafe.count).max() ?? 0
            let addressWidth = instances.map(\.address.terminalSafe.count).max() ?? 0
            for (group, groupRows) in zip(groups, rows) {
                for (instance, result) in groupRows {
                    var line = group.label.map { $0.terminalSafe.padding(labelWidth) + "  " } ?? ""
                    line += instance.address.terminalSafe.padding(addressWidth) + "  "
                    line += describe(result, context.output)
                    context.output.line(line)
                }
            }
        case .json:
            func objects(_ groupRows: [(instance: Instance, result: ProbeResult)]) -> JSONValue {
                .array(
                    groupRows.map { instance, result in
                        guard case .object(var members) = JSONValue(instance) else {
                            return JSONValue(instance)
                        }
                        members.append(("probe", json(result, probe)))
                        return .object(members)
                    })
            }
            if groups.count == 1, groups[0].label == nil {
                context.output.json(objects(rows[0]))
            } else {
                context.output.json(
                    .array(
                        zip(groups, rows).map { group, groupRows in
                            .object([
                                ("target", .string(group.label ?? "")), ("instances", objects(groupRows)),
                            ])
                        }))
            }
        }
        if instances.isEmpty { return noInstances(in: groups.map { $0.label ?? "" }, context) }
        guard results.contains(where: \.reachable) else {
            let count = instances.count
            context.output.note(
                "none of the \(count) instance\(count == 1 ? "" : "s") answered the \(probe.description) probe"
            )
            return .noneReachable
        }
        return .success
    }

    /// `reachable  0.42 ms  200` or `unreachable  1.03 ms  Connection refused`
    static func describe(_ result: ProbeResult, _ output: Output) -> String {
        let latency = DurationParser.milliseconds(result.latency)
        if result.reachable {
            return output.paint("reachable", "32") + "    \(latency)"
                + (result.status.map { "  HTTP \($0)" } ?? "")
        }
        return output.paint("unreachable", "31") + "  \(latency)  \((result.failure ?? "").terminalSafe)"
    }

    static func json(_ result: ProbeResult, _ probe: Probe) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("kind", .string(probe.description)), ("reachable", .bool(result.reachable)),
            ("latency_ms", .double(DurationParser.millisecondValue(result.latency))),
        ]
        if let status = result.status { members.append(("status", .int(status))) }
        if let failure = result.failure { members.append(("error", .string(failure))) }
        return .object(members)
    }
}
