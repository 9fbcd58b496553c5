/// A parsed command line: which command, its positionals, options and trailing command.
public struct Invocation: Sendable {
    /// The command path below the root, e.g. `["bench", "balancer"]`.
    public var path: [String]
    public var positionals: [String]
    /// Option values by long name, in the order first given; flags have one empty value per
    /// occurrence. A list, not a dictionary: a command line holds a handful, and `--version`
    /// and help then need no `Hashable` conformance looked up at run time, which costs a scan
    /// of every conformance in the binary (docs/benchmarks.md, "Process start").
    public var options: [(name: String, values: [String])]
    /// The words after `--` for commands that wrap another command.
    public var trailing: [String]?

    public func has(_ flag: String) -> Bool { options.contains { $0.name == flag } }
    public func value(_ option: String) -> String? { values(option).last }
    public func values(_ option: String) -> [String] { options.first { $0.name == option }?.values ?? [] }

    /// `sdctl bench balancer`, for messages.
    public var commandName: String { (["sdctl"] + path).joined(separator: " ") }
}
