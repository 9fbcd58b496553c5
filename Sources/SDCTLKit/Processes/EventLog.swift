import Synchronization

/// Events in the order they happened, each readable by position: a task waits for "the next
/// event after the ones it has handled", and an event that came while nobody waited is kept,
/// not lost. What `register` learns of signals and its wrapped command's end goes here.
final class EventLog<Element: Sendable>: Sendable {
    private struct Waiter {
        var id: UInt64
        var position: Int
        var continuation: CheckedContinuation<Element?, Never>
    }

    private struct State {
        var elements: [Element] = []
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    func append(_ element: Element) {
        let ready = state.withLock { state -> [CheckedContinuation<Element?, Never>] in
            state.elements.append(element)
            let position = state.elements.count - 1
            let ready = state.waiters.filter { $0.position == position }.map(\.continuation)
            state.waiters.removeAll { $0.position == position }
            return ready
        }
        for continuation in ready { continuation.resume(returning: element) }
    }

    /// The event at `position` (0 is the first), waiting for it to happen; `nil` if the waiting
    /// task is cancelled first.
    func element(at position: Int) async -> Element? {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                let ready = state.withLock { state -> Element?? in
                    if position < state.elements.count { return .some(state.elements[position]) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters.append(Waiter(id: id, position: position, continuation: continuation))
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: nil)
        }
    }
}
