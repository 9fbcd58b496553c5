/// One sdctl command: the words that invoke it, its entry in the command table, and what runs
/// it. ``all`` names every command; the root table, `help`'s choices and dispatch come from it.
protocol Command: Sendable {
    /// The words that invoke it (`["bench", "balancer"]`): a group word first, if any.
    static var path: [String] { get }
    /// Its entry in the command table: options, help, completions.
    static var spec: CommandSpec { get }
    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode
}

/// Every command, in the order `--help` lists them. A new command is its file and one line here.
let allCommands: [any Command.Type] = [
    ResolveCommand.self, WatchCommand.self, RegisterCommand.self, DeregisterCommand.self,
    BenchBalancerCommand.self, BenchPropagationCommand.self, CompletionCommand.self, ManPageCommand.self,
    HelpCommand.self,
]

/// The command an invocation's words name.
func command(at path: [String]) -> (any Command.Type)? {
    allCommands.first { $0.path == path }
}

/// `sdctl completion SHELL`.
enum CompletionCommand: Command {
    static let path = ["completion"]
    static var spec: CommandSpec { CommandTable.completion }

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let name = context.invocation.positionals[0]
        guard let shell = CompletionGenerator.Shell(rawValue: name) else {
            throw context.usage("unknown shell '\(name)' (bash, zsh or fish)")
        }
        context.output.line(CompletionGenerator.script(for: shell), terminator: "")
        return .success
    }
}

/// `sdctl manpage`.
enum ManPageCommand: Command {
    static let path = ["manpage"]
    static var spec: CommandSpec { CommandTable.manpage }

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        context.output.line(ManPageGenerator.page(), terminator: "")
        return .success
    }
}

/// `sdctl help [COMMAND]`.
enum HelpCommand: Command {
    static let path = ["help"]
    static var spec: CommandSpec { CommandTable.help }

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let parser = ArgumentParser()
        let path = context.invocation.positionals.first.map { [$0] } ?? []
        guard let spec = parser.spec(for: path) else {
            throw context.usage("no such command '\(path.joined())'")
        }
        SDCTL.writeHelp(spec, path: path, parser: parser)
        return .success
    }
}
