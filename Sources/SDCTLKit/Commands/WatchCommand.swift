import Discovery
import FileDiscovery

/// `sdctl watch TARGET [--count N]`
enum WatchCommand {
    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let target = try context.target()
        let count = try context.integer("count", minimum: 1)
        let instancer = try target.backend.makeInstancer(context)
        defer { instancer.stop() }
        let subscription = instancer.subscribe()
        let ending = await withTimeout(context.timeout) { () async -> DiscoveryError? in
            var previous: [Instance]?
            var events = 0
            for await event in subscription {
                switch event {
                case .instances(let set):
                    report(set, previous: previous, context)
                    previous = set
                case .failure(let error):
                    // Without a first answer there is nothing to watch, and refused credentials
                    // stay refused: both end the run. Later outages are reported and waited out.
                    if previous == nil || error.code == .permissionDenied { return error }
                    report(error, context)
                }
                events += 1
                if let count, events >= count { return nil }
            }
            return nil
        }
        if case .some(.some(let error)) = ending { throw target.backend.cliError(error) }
        return .success
    }

    static func report(_ set: [Instance], previous: [Instance]?, _ context: CommandContext) {
        let old = Dictionary(
            (previous ?? []).map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
        let new = Dictionary(set.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
        let added = set.filter { old[$0.address] == nil }
        let removed = (previous ?? []).filter { new[$0.address] == nil }
        let time = Timestamp.now()
        switch context.format {
        case .json:
            context.output.json(
                .object([
                    ("time", .string(time)),
                    ("instances", .array(set.map(JSONValue.init))),
                    ("added", .array(added.map(JSONValue.init))),
                    ("removed", .array(removed.map(JSONValue.init))),
                ]))
        case .text:
            let output = context.output
            let noun = set.count == 1 ? "instance" : "instances"
            if previous == nil {
                output.line("\(time)  \(set.count) \(noun)")
                for instance in set { output.line("  \(instance.address)") }
                return
            }
            var changes = added.map { output.paint("+\($0.address)", "32") }
            changes += removed.map { output.paint("-\($0.address)", "31") }
            if changes.isEmpty { changes = ["~metadata"] }
            output.line("\(time)  \(changes.joined(separator: " "))  (\(set.count) \(noun))")
        }
    }

    static func report(_ error: DiscoveryError, _ context: CommandContext) {
        let time = Timestamp.now()
        switch context.format {
        case .json:
            context.output.json(.object([("time", .string(time)), ("error", .string(error.message))]))
        case .text:
            context.output.line("\(time)  \(context.output.paint("error:", "31")) \(error.message)")
        }
    }
}
