import Discovery

/// Why a ``Retry`` call gave up, with the error of every attempt it made.
public struct RetryError: Error, Sendable, CustomStringConvertible {
    /// Why the retry loop ended.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case attemptsExhausted = "attempts exhausted"
            case deadlineExceeded = "deadline exceeded"
            case gaveUp = "gave up"
            case cancelled = "cancelled"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Every allowed attempt failed.
        public static let attemptsExhausted = Reason(.attemptsExhausted)
        /// The overall deadline passed.
        public static let deadlineExceeded = Reason(.deadlineExceeded)
        /// The callback said to stop.
        public static let gaveUp = Reason(.gaveUp)
        /// The calling task was cancelled.
        public static let cancelled = Reason(.cancelled)

        public var description: String { value.rawValue }
    }

    public var reason: Reason
    /// Each attempt's error, in order (a callback's replacement where it gave one).
    public var errors: [any Error & Sendable]

    public init(reason: Reason, errors: [any Error & Sendable]) {
        self.reason = reason
        self.errors = errors
    }

    /// The last attempt's error.
    public var last: (any Error & Sendable)? { errors.last }

    public var description: String {
        let detail = errors.last.map { ": \($0)" } ?? ""
        return "retry \(reason) after \(errors.count) attempt(s)\(detail)"
    }
}
