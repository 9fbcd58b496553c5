import Testing

@testable import SDCTLKit

/// The root table, `help`'s choices and dispatch come from one list of commands.
@Suite("The command list")
struct CommandListTests {
    /// Every runnable path in the table, walking groups.
    func leafPaths(_ spec: CommandSpec, _ prefix: [String] = []) -> [[String]] {
        spec.subcommands.isEmpty
            ? [prefix] : spec.subcommands.flatMap { leafPaths($0, prefix + [$0.name]) }
    }

    @Test("every command in the table runs something, and every command is in the table")
    func tableAndDispatchAgree() {
        let paths = leafPaths(CommandTable.root)
        #expect(paths.count == allCommands.count)
        for path in paths { #expect(command(at: path) != nil, "\(path) is listed but does not dispatch") }
        for command in allCommands {
            #expect(command.spec.name == command.path.last, "\(command.path)")
            #expect(paths.contains(command.path), "\(command.path) dispatches but is not listed")
        }
    }

    @Test("help offers every command but itself")
    func helpChoices() {
        guard case .choices(let choices) = CommandTable.help.positionals[0].completion else {
            Issue.record("help's COMMAND has no choices")
            return
        }
        #expect(choices == CommandTable.root.subcommands.map(\.name).filter { $0 != "help" })
    }
}
