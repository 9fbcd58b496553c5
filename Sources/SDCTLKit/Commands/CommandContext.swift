import Discovery
import Logging

/// What every command gets: its parsed invocation, the environment, output and logger.
struct CommandContext: Sendable {
    var invocation: Invocation
    var environment: [String: String]
    var output: Output
    var timeout: Duration?
    var logger: Logger
    /// The most instances one answer may list (SDCTL_MAX_INSTANCES): etcd, Consul and Eureka
    /// refuse an answer with more (``InstanceLimitExceeded``).
    var maximumInstances = Instance.defaultMaximumPerAnswer
    /// The events ``logger`` has shown on stderr without `-v` (a command that ends with its own
    /// line about the same thing says it once).
    var shownEvents = ShownEvents()

    var format: OutputFormat { output.format }

    /// How long an instancer waits for its backend before reporting it unreachable: most of
    /// `--timeout`, so the report comes before the timeout does; one second without it.
    var connectGrace: Duration {
        timeout.map { $0 * 8 / 10 } ?? .seconds(1)
    }

    func usage(_ message: String) -> CLIError {
        .usage(message, command: invocation.commandName)
    }

    func target(_ index: Int = 0) throws(CLIError) -> Target {
        try Target(parsing: invocation.positionals[index], environment: environment)
    }

    /// Every TARGET of a command that takes several, each with the text it was given as (any
    /// password in it masked: the label is shown).
    func targets() throws(CLIError) -> [LabelledTarget] {
        var targets: [LabelledTarget] = []
        for text in invocation.positionals {
            let label = Redaction.redactingURLs(in: text)
            if targets.contains(where: { $0.label == label }) {
                throw usage("TARGET '\(label)' is given twice")
            }
            targets.append(
                LabelledTarget(label: label, target: try Target(parsing: text, environment: environment)))
        }
        return targets
    }

    /// A whole-number option of at least `minimum`.
    func integer(_ option: String, default value: Int? = nil, minimum: Int = 1) throws(CLIError) -> Int? {
        guard let text = invocation.value(option) else { return value }
        guard let number = Int(text), number >= minimum else {
            throw usage("--\(option) must be a whole number of at least \(minimum), not '\(text)'")
        }
        return number
    }

    func duration(_ option: String) throws(CLIError) -> Duration? {
        guard let text = invocation.value(option) else { return nil }
        guard let duration = DurationParser.parse(text), duration > .zero else {
            throw usage("--\(option) takes a positive duration such as 250ms, 10s, 5m or 1h, not '\(text)'")
        }
        return duration
    }
}
