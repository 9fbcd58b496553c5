import Discovery

/// An error that ends an `sdctl` run: one line for stderr and the exit code to leave with.
public struct CLIError: Error, Sendable, CustomStringConvertible {
    public var exitCode: ExitCode
    public var message: String

    public init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    /// A usage error, with a pointer to the help of the command it concerns.
    public static func usage(_ message: String, command: String = "sdctl") -> CLIError {
        CLIError(.usage, "\(message) (see '\(command) --help')")
    }

    /// Maps a toolkit error onto the documented exit codes. A backend that gave no answer in
    /// time is unavailable (69), as a refused one is: 124 is for sdctl's own waits
    /// (`--wait-for`, `register --timeout`, `--ready`), which raise it themselves.
    public init(_ error: DiscoveryError) {
        if error.cause is InstanceLimitExceeded {
            self.init(.failure, error.message + " (SDCTL_MAX_INSTANCES raises the limit)")
            return
        }
        switch error.code {
        case .unavailable, .timedOut: self.init(.unavailable, error.message)
        case .invalidArgument: self.init(.usage, error.message)
        case .permissionDenied: self.init(.permissionDenied, error.message)
        case .noEndpoints: self.init(.noInstances, error.message)
        default: self.init(.failure, error.message)
        }
    }

    public var description: String { message }
}
