import Discovery

/// An error that ends an `sdctl` run: one line for stderr and the exit code to leave with.
public struct CLIError: Error, Sendable, CustomStringConvertible {
    public var exitCode: ExitCode
    public var message: String
    /// The error underneath (a backend's ``DiscoveryError`` keeps its own): `-v` prints the
    /// chain under the message.
    public var cause: (any Error)?

    public init(_ exitCode: ExitCode, _ message: String, cause: (any Error)? = nil) {
        self.exitCode = exitCode
        self.message = message
        self.cause = cause
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
            self.init(.failure, error.message + " (SDCTL_MAX_INSTANCES raises the limit)", cause: error)
            return
        }
        let exitCode: ExitCode =
            switch error.code {
            case .unavailable, .timedOut: .unavailable
            case .invalidArgument: .usage
            case .permissionDenied: .permissionDenied
            case .noEndpoints: .noInstances
            default: .failure
            }
        self.init(exitCode, error.message, cause: error)
    }

    /// The causes under the message, outermost first, one line each (the output makes them
    /// safe for a terminal); a cause that only repeats what was already said is skipped.
    public var causeLines: [String] {
        var lines: [String] = []
        var said = message
        var next = cause
        while let error = next, lines.count < 8 {
            let text: String
            if let discovery = error as? DiscoveryError {
                text = discovery.message
                next = discovery.cause
            } else {
                text = "\(error)"
                next = nil
            }
            guard !said.contains(text) else { continue }
            lines.append("\(type(of: error)): \(text)")
            said = text
        }
        return lines
    }

    public var description: String { message }
}
