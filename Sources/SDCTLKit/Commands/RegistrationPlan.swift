import Discovery

/// How `sdctl register` holds its registration beyond putting it in: the wrapped command, the
/// readiness probe that gates it, and the drain before it is taken out.
struct RegistrationPlan: Sendable {
    /// A probe that must pass before registering, and keeps being run while registered.
    struct Readiness: Sendable {
        var probe: Probe
        var address: HostPort
        /// As the user wrote it, for messages.
        var url: String
        /// How often it runs while registered.
        var interval: Duration
        /// Failures in a row that take the registration out.
        var failures: Int

        /// How often it runs until it first passes: every quarter second, or `interval` if that
        /// is shorter, so that a server that starts listening is registered at once.
        var startupInterval: Duration { min(interval, .milliseconds(250)) }
    }

    var command: [String]?
    var readiness: Readiness?
    var drain: Duration?

    static let defaultProbeInterval: Duration = .seconds(2)
    static let defaultFailures = 3

    static func parse(_ context: CommandContext) throws(CLIError) -> RegistrationPlan {
        let invocation = context.invocation
        var plan = RegistrationPlan(command: invocation.trailing, drain: try context.duration("drain"))
        let interval = try context.duration("probe-interval")
        let timeout = try context.duration("probe-timeout")
        let failures = try context.integer("ready-failures", minimum: 1)
        guard let url = invocation.value("ready") else {
            for (option, given) in [
                ("probe-interval", interval != nil), ("probe-timeout", timeout != nil),
                ("ready-failures", failures != nil),
            ] where given {
                throw context.usage("--\(option) goes with --ready")
            }
            return plan
        }
        let readyInterval = interval ?? defaultProbeInterval
        let (probe, address) = try Probe.parse(
            url: url, timeout: timeout ?? min(readyInterval, Probe.defaultTimeout), context)
        plan.readiness = Readiness(
            probe: probe, address: address, url: url, interval: readyInterval,
            failures: failures ?? defaultFailures)
        return plan
    }
}
