/// An error raised by the discovery toolkit: a stable ``Code`` plus a human-readable message.
///
/// Backends wrap their own failures in this type so that subscribers, balancers and the
/// command-line tool can classify them without knowing which backend produced them.
///
/// The failure underneath (a gRPC status, a ZooKeeper return code, an errno) travels as
/// ``cause``, as grpc-swift's `RuntimeError` carries it, so a program can inspect it instead of
/// parsing the message. Two errors are equal when their codes and messages are: the cause is
/// detail, and an instancer does not re-send an identical failure because its cause differs.
public struct DiscoveryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case invalidArgument = "invalid argument"
            case noEndpoints = "no endpoints"
            case unavailable = "unavailable"
            case timedOut = "timed out"
            case notFound = "not found"
            case alreadyExists = "already exists"
            case stopped = "stopped"
            case invalidResponse = "invalid response"
            case permissionDenied = "permission denied"
            case io = "i/o error"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The caller passed something malformed (an address, a name, an option).
        public static let invalidArgument = Code(.invalidArgument)
        /// A balancer had nothing to pick from.
        public static let noEndpoints = Code(.noEndpoints)
        /// The discovery backend cannot be reached.
        public static let unavailable = Code(.unavailable)
        /// A deadline passed.
        public static let timedOut = Code(.timedOut)
        /// The thing asked for does not exist.
        public static let notFound = Code(.notFound)
        /// The thing to create exists already and belongs to someone else.
        public static let alreadyExists = Code(.alreadyExists)
        /// The object was stopped or closed.
        public static let stopped = Code(.stopped)
        /// The backend answered with something that cannot be understood.
        public static let invalidResponse = Code(.invalidResponse)
        /// The backend refused the operation.
        public static let permissionDenied = Code(.permissionDenied)
        /// A local file-system or system-call failure.
        public static let io = Code(.io)

        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, in one line, for a human: control characters a server or a file put in
    /// it (an escape sequence, a line break) are shown as escapes (`\x1B`, `\x0A`).
    public var message: String
    /// The error underneath, if there was one.
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = TerminalText.sanitized(message, limit: Self.messageLimit)
        self.cause = cause
    }

    /// Longer messages are cut (saying how much was left out): a server's error text is quoted
    /// in them, and it can be any size.
    static let messageLimit = 4000

    public var description: String { message }

    public static func == (lhs: DiscoveryError, rhs: DiscoveryError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }
}
