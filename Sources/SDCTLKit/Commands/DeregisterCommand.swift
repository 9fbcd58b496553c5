import Discovery

/// `sdctl deregister TARGET ID-OR-ADDRESS`
enum DeregisterCommand: Command {
    static let path = ["deregister"]
    static var spec: CommandSpec { CommandTable.deregister }

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let target = try context.target()
        let key = context.invocation.positionals[1]
        guard !key.isEmpty else { throw context.usage("ID-OR-ADDRESS must not be empty") }
        let removed = try await target.backend.registering().deregister(idOrAddress: key, context)
        if removed.isEmpty {
            context.output.note(
                "nothing registered as '\(key)' in \(context.invocation.positionals[0]); nothing to do")
        }
        switch context.format {
        case .text: for id in removed { context.output.line(id.terminalSafe) }
        case .json: context.output.json(.object([("removed", .array(removed.map(JSONValue.string)))]))
        }
        return .success
    }
}
