import Synchronization

/// A flag a test sets to end a loop running on a thread of its own (`offPool`), which neither
/// cancellation nor the end of the test's scope reaches.
public final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)

    public init() {}

    /// Whether `set()` has been called.
    public var isSet: Bool { value.load(ordering: .acquiring) }

    /// Asks the loop to end.
    public func set() { value.store(true, ordering: .releasing) }
}
