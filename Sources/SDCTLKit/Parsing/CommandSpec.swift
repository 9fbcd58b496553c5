/// How the shell may complete a value.
public enum ValueCompletion: Sendable, Hashable {
    case none
    case choices([String])
    case file
    case command
}

/// One option of a command, as the declarative table states it.
public struct OptionSpec: Sendable {
    public var long: String
    public var short: Character?
    /// `nil` for a flag; otherwise the placeholder shown in help (`DURATION`).
    public var valueName: String?
    public var repeatable: Bool
    public var completion: ValueCompletion
    public var help: String

    public static func flag(_ long: String, short: Character? = nil, _ help: String) -> OptionSpec {
        OptionSpec(long: long, short: short, valueName: nil, repeatable: false, completion: .none, help: help)
    }

    public static func value(
        _ long: String, short: Character? = nil, _ valueName: String, repeatable: Bool = false,
        completion: ValueCompletion = .none, _ help: String
    ) -> OptionSpec {
        OptionSpec(
            long: long, short: short, valueName: valueName, repeatable: repeatable, completion: completion,
            help: help)
    }

    /// `-o, --output FORMAT` as help shows it.
    var synopsis: String {
        var text = short.map { "-\($0), " } ?? "    "
        text += "--\(long)"
        if let valueName { text += " \(valueName)" }
        return text
    }
}

/// One positional argument.
public struct PositionalSpec: Sendable {
    public var name: String
    public var completion: ValueCompletion
    public var help: String
    /// Whether it may be given more than once; only the last positional may be.
    public var repeatable: Bool

    public init(
        _ name: String, completion: ValueCompletion = .none, repeatable: Bool = false, _ help: String
    ) {
        self.name = name
        self.completion = completion
        self.repeatable = repeatable
        self.help = help
    }

    /// `TARGET...` for a repeatable positional, as help and synopses show it.
    var synopsis: String { repeatable ? name + "..." : name }
}

/// One command (or the root) in the table that drives parsing, help and completions.
public struct CommandSpec: Sendable {
    public var name: String
    public var summary: String
    public var discussion: String
    public var positionals: [PositionalSpec]
    public var options: [OptionSpec]
    public var subcommands: [CommandSpec]
    /// Whether `-- CMD [ARG...]` may follow.
    public var takesTrailingCommand: Bool
    public var examples: [String]

    public init(
        name: String, summary: String, discussion: String = "", positionals: [PositionalSpec] = [],
        options: [OptionSpec] = [], subcommands: [CommandSpec] = [], takesTrailingCommand: Bool = false,
        examples: [String] = []
    ) {
        self.name = name
        self.summary = summary
        self.discussion = discussion
        self.positionals = positionals
        self.options = options
        self.subcommands = subcommands
        self.takesTrailingCommand = takesTrailingCommand
        self.examples = examples
    }

    func subcommand(named name: String) -> CommandSpec? {
        subcommands.first { $0.name == name }
    }
}
