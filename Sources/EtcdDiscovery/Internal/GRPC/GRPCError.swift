/// A failed gRPC call: the status the server sent in its trailers, or one this client chose
/// for a failure of the connection (as grpc-go and grpc-swift map them), with the error
/// underneath when there is one.
struct GRPCError: Error, Sendable, CustomStringConvertible {
    /// gRPC's status codes (grpc/doc/statuscodes.md).
    struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        var rawValue: Int
        init(rawValue: Int) { self.rawValue = rawValue }

        static let ok = Code(rawValue: 0)
        static let cancelled = Code(rawValue: 1)
        static let unknown = Code(rawValue: 2)
        static let invalidArgument = Code(rawValue: 3)
        static let deadlineExceeded = Code(rawValue: 4)
        static let notFound = Code(rawValue: 5)
        static let alreadyExists = Code(rawValue: 6)
        static let permissionDenied = Code(rawValue: 7)
        static let resourceExhausted = Code(rawValue: 8)
        static let failedPrecondition = Code(rawValue: 9)
        static let aborted = Code(rawValue: 10)
        static let outOfRange = Code(rawValue: 11)
        static let unimplemented = Code(rawValue: 12)
        static let `internal` = Code(rawValue: 13)
        static let unavailable = Code(rawValue: 14)
        static let dataLoss = Code(rawValue: 15)
        static let unauthenticated = Code(rawValue: 16)

        private static let names = [
            "ok", "cancelled", "unknown", "invalid argument", "deadline exceeded", "not found",
            "already exists", "permission denied", "resource exhausted", "failed precondition",
            "aborted", "out of range", "unimplemented", "internal", "unavailable", "data loss",
            "unauthenticated",
        ]

        var description: String {
            Self.names.indices.contains(rawValue) ? Self.names[rawValue] : "status \(rawValue)"
        }
    }

    var code: Code
    /// The server's `grpc-message`, or this client's account of what happened.
    var message: String
    /// What failed underneath: a socket or TLS error, for a connection that could not be made
    /// or was lost.
    var cause: (any Error)?

    init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    var description: String {
        message.isEmpty ? "\(code)" : "\(code): \(message)"
    }
}
