import Discovery

/// Thrown when something awaited did not happen before its deadline.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with ``DeadlineExceeded`` if it takes longer than `timeout`.
public func within<T: Sendable>(
    _ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw DeadlineExceeded(what: what)
        }
        group.cancelAll()
        return value
    }
}

/// Waits for `task` to finish, failing with ``DeadlineExceeded`` after `timeout` and cancelling
/// it then: awaiting a task's value does not end when the waiter is cancelled, so a plain
/// `within(...) { await task.value }` would wait on past its deadline for a task that never ends.
public func finished<T: Sendable, Failure: Error>(
    _ task: Task<T, Failure>, within timeout: Duration, _ what: String
) async throws -> T {
    try await within(timeout, what) {
        try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }
}

extension InstanceSubscription {
    /// Waits for the first event that satisfies `predicate`, skipping the others.
    public func first(
        within timeout: Duration = .seconds(5), _ what: String = "an event",
        where predicate: @escaping @Sendable (InstancerEvent) -> Bool
    ) async throws -> InstancerEvent {
        let subscription = self
        return try await within(timeout, what) {
            for await event in subscription where predicate(event) { return event }
            throw DeadlineExceeded(what: "\(what) (subscription ended)")
        }
    }

    /// Waits for a set whose addresses are exactly `addresses`.
    @discardableResult
    public func set(
        _ addresses: [String], within timeout: Duration = .seconds(5)
    ) async throws -> [Instance] {
        let wanted = addresses.sorted()
        let event = try await first(within: timeout, "set \(wanted)") { event in
            event.instances.map { $0.map(\.address) == wanted } ?? false
        }
        return event.instances!
    }
}

/// Polls `condition` until it holds, failing after `timeout`; for state with no event to await.
public func eventually(
    _ timeout: Duration = .seconds(5), _ what: String, _ condition: @escaping @Sendable () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw DeadlineExceeded(what: what) }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Polls an asynchronous `condition` (a question to a server) every 50 ms until it holds,
/// failing after `timeout`.
public func eventually(
    _ timeout: Duration = .seconds(5), _ what: String,
    _ condition: @escaping @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw DeadlineExceeded(what: what) }
        try await Task.sleep(for: .milliseconds(50))
    }
}
