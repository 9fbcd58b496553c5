/// What the manual page says beyond the commands: the targets, the environment and the exit
/// codes. Kept beside the command table so that the page, `--help` and the completions are made
/// from one place; docs/targets.md and docs/exit-codes.md say the same at more length.
extension CommandTable {
    /// One `NAME` and what it means, as the manual's tagged paragraphs show it.
    public struct Entry: Sendable {
        public var name: String
        public var meaning: String

        init(_ name: String, _ meaning: String) {
            self.name = name
            self.meaning = meaning
        }
    }

    /// The forms of TARGET, from every backend's description.
    public static var targets: [Entry] { BackendDescription.all.flatMap(\.targets) }

    /// The environment variables sdctl reads: its own, then every backend's.
    public static var environment: [Entry] {
        [
            Entry("NO_COLOR", "when set and not empty, never colour the output"),
            Entry(
                "SDCTL_MAX_INSTANCES",
                "the most instances one etcd, Consul or Eureka answer may list (default 200000); more is exit 1"
            ),
        ] + BackendDescription.all.flatMap(\.environment)
    }

    /// The exit codes, in the order docs/exit-codes.md gives them.
    public static let exitCodes: [Entry] = [
        Entry("\(ExitCode.success)", "success"),
        Entry("\(ExitCode.failure)", "a runtime failure (I/O, a refused registration, an undecodable reply)"),
        Entry("\(ExitCode.usage)", "the command line was wrong"),
        Entry("\(ExitCode.noInstances)", "resolve found no instances"),
        Entry(
            "\(ExitCode.unavailable)", "the discovery system could not be reached, or gave no answer in time"),
        Entry("\(ExitCode.permissionDenied)", "the discovery system refused: authentication or permission"),
        Entry("\(ExitCode.timedOut)", "sdctl's own wait ran out (--wait-for, register --timeout, --ready)"),
        Entry("\(ExitCode.outputClosed)", "nobody reads stdout any more (sdctl watch | head -1)"),
        Entry("126, 127", "register -- CMD: CMD could not be started, or was not found"),
        Entry("n, 128+s", "register -- CMD: the command's own exit code, or 128 + the signal that killed it"),
    ]
}
