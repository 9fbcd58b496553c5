/// Parses `argv` against ``CommandTable``.
///
/// Global options may stand before or after the command. Long options take `--name value` or
/// `--name=value`, short ones `-o value` or `-ovalue`. `--` ends options; for commands that wrap
/// another command, what follows it is that command.
public struct ArgumentParser: Sendable {
    public let root: CommandSpec

    public init(root: CommandSpec = CommandTable.root) {
        self.root = root
    }

    public func parse(_ arguments: [String]) throws(CLIError) -> Invocation {
        var command = root
        var path: [String] = []
        var positionals: [String] = []
        var options: [(name: String, values: [String])] = []
        var trailing: [String]?
        var index = 0
        var optionsEnded = false

        func fail(_ message: String) -> CLIError {
            .usage(message, command: (["sdctl"] + path).joined(separator: " "))
        }
        func lookup(long: String) -> OptionSpec? {
            command.options.first { $0.long == long } ?? root.options.first { $0.long == long }
        }
        func lookup(short: Character) -> OptionSpec? {
            command.options.first { $0.short == short } ?? root.options.first { $0.short == short }
        }
        func record(_ option: OptionSpec, _ value: String) throws(CLIError) {
            guard let index = options.firstIndex(where: { $0.name == option.long }) else {
                options.append((option.long, [value]))
                return
            }
            if !option.repeatable, option.valueName != nil {
                throw fail("option --\(option.long) given more than once")
            }
            options[index].values.append(value)
        }

        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if !optionsEnded, argument == "--" {
                if command.takesTrailingCommand {
                    trailing = Array(arguments[index...])
                    guard !(trailing?.isEmpty ?? true) else {
                        throw fail("'--' must be followed by a command to run")
                    }
                    break
                }
                optionsEnded = true
                continue
            }
            if !optionsEnded, argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name = String(body.prefix { $0 != "=" })
                let inline = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
                guard let option = lookup(long: name) else {
                    throw fail(
                        "unknown option '--\(name)' for '\((["sdctl"] + path).joined(separator: " "))'")
                }
                if option.valueName == nil {
                    guard inline == nil else { throw fail("option --\(name) takes no value") }
                    try record(option, "")
                } else if let inline {
                    guard !inline.isEmpty else { throw fail("option --\(name) needs a \(option.valueName!)") }
                    try record(option, inline)
                } else {
                    guard index < arguments.count, !Self.looksLikeOption(arguments[index]) else {
                        throw fail("option --\(name) needs a \(option.valueName!)")
                    }
                    try record(option, arguments[index])
                    index += 1
                }
                continue
            }
            if !optionsEnded, argument.hasPrefix("-"), argument.count > 1, !Self.isNegativeNumber(argument) {
                let letters = Array(argument.dropFirst())
                guard let option = lookup(short: letters[0]) else {
                    throw fail(
                        "unknown option '-\(letters[0])' for '\((["sdctl"] + path).joined(separator: " "))'")
                }
                if option.valueName == nil {
                    guard letters.count == 1 else { throw fail("unknown option '\(argument)'") }
                    try record(option, "")
                } else if letters.count > 1 {
                    try record(option, String(letters.dropFirst()))
                } else {
                    guard index < arguments.count, !Self.looksLikeOption(arguments[index]) else {
                        throw fail("option -\(letters[0]) needs a \(option.valueName!)")
                    }
                    try record(option, arguments[index])
                    index += 1
                }
                continue
            }
            if !command.subcommands.isEmpty, positionals.isEmpty {
                guard let next = command.subcommand(named: argument) else {
                    let choices = command.subcommands.map(\.name).joined(separator: ", ")
                    throw fail("unknown command '\(argument)' (commands: \(choices))")
                }
                command = next
                path.append(next.name)
                continue
            }
            positionals.append(argument)
        }

        let invocation = Invocation(
            path: path, positionals: positionals, options: options, trailing: trailing)
        if invocation.has("help") || invocation.has("version") { return invocation }
        if path.isEmpty { return invocation }  // bare `sdctl`: the caller shows help
        if !command.subcommands.isEmpty {
            let choices = command.subcommands.map(\.name).joined(separator: " or ")
            throw fail("'\(invocation.commandName)' needs a subcommand: \(choices)")
        }
        let required = command.name == "help" ? 0 : command.positionals.count
        if positionals.count < required {
            let missing = command.positionals[positionals.count...].map(\.name).joined(separator: " ")
            throw fail("missing \(missing)")
        }
        if positionals.count > command.positionals.count, command.positionals.last?.repeatable != true {
            throw fail("unexpected argument '\(positionals[command.positionals.count])'")
        }
        return invocation
    }

    static func looksLikeOption(_ word: String) -> Bool {
        word.hasPrefix("-") && word.count > 1 && !isNegativeNumber(word)
    }

    static func isNegativeNumber(_ word: String) -> Bool {
        word.hasPrefix("-") && word.dropFirst().allSatisfy { $0.isNumber || $0 == "." } && word.count > 1
    }

    /// The spec of a command path, for help.
    public func spec(for path: [String]) -> CommandSpec? {
        var command = root
        for name in path {
            guard let next = command.subcommand(named: name) else { return nil }
            command = next
        }
        return command
    }
}
