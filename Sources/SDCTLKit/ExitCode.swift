/// The documented exit codes of `sdctl` (docs/exit-codes.md).
public struct ExitCode: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// Success.
    public static let success = ExitCode(0)
    /// A runtime failure (I/O, a refused registration).
    public static let failure = ExitCode(1)
    /// The command line was wrong.
    public static let usage = ExitCode(2)
    /// `resolve` found no instances.
    public static let noInstances = ExitCode(3)
    /// `resolve --compare`: the targets do not have the same instances.
    public static let targetsDiffer = ExitCode(4)
    /// `resolve --probe`: there were instances, and none of them answered.
    public static let noneReachable = ExitCode(5)
    /// `resolve --max-stale`: the backend last confirmed a set longer ago than allowed, or is
    /// keeping it through an error.
    public static let tooStale = ExitCode(6)
    /// The discovery backend could not be reached (sysexits' EX_UNAVAILABLE).
    public static let unavailable = ExitCode(69)
    /// The discovery system refused: authentication failed or permission denied (EX_NOPERM).
    public static let permissionDenied = ExitCode(77)
    /// Time ran out waiting (as timeout(1) reports it).
    public static let timedOut = ExitCode(124)
    /// Nobody reads stdout any more (`sdctl watch | head -1`): the status a shell reports for a
    /// process ended by SIGPIPE, as `yes | head` gives.
    public static let outputClosed = ExitCode(128 + 13)

    public var description: String { String(rawValue) }
}
