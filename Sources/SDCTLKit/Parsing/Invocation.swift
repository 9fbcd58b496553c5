/// A parsed command line: which command, its positionals, options and trailing command.
public struct Invocation: Sendable {
    /// The command path below the root, e.g. `["bench", "balancer"]`.
    public var path: [String]
    public var positionals: [String]
    /// Option values by long name; flags have one empty value per occurrence.
    public var options: [String: [String]]
    /// The words after `--` for commands that wrap another command.
    public var trailing: [String]?

    public func has(_ flag: String) -> Bool { options[flag] != nil }
    public func value(_ option: String) -> String? { options[option]?.last }
    public func values(_ option: String) -> [String] { options[option] ?? [] }

    /// `sdctl bench balancer`, for messages.
    public var commandName: String { (["sdctl"] + path).joined(separator: " ") }
}
