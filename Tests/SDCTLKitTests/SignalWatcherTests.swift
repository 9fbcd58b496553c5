import Synchronization
import TestSupport
import Testing

@testable import SDCTLKit

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Signal watchers", .serialized)
struct SignalWatcherTests {
    @Test("two watchers of one signal in one process both see it, and one leaving keeps the other")
    func twoWatchers() async throws {
        let first = Atomic<Int>(0)
        let second = Atomic<Int>(0)
        let a = await SignalWatcher.start([SIGUSR2]) { _ in first.add(1, ordering: .relaxed) }
        let b = await SignalWatcher.start([SIGUSR2]) { _ in second.add(1, ordering: .relaxed) }
        defer { b.cancel() }
        kill(getpid(), SIGUSR2)
        try await eventually(.seconds(5), "both watchers to see the signal") {
            first.load(ordering: .relaxed) == 1 && second.load(ordering: .relaxed) == 1
        }
        a.cancel()
        a.cancel()  // idempotent, and must not take the signal from the other watcher
        kill(getpid(), SIGUSR2)  // would end the test process if its default action were back
        try await eventually(.seconds(5), "the remaining watcher to see the signal") {
            second.load(ordering: .relaxed) == 2
        }
        #expect(first.load(ordering: .relaxed) == 1)
    }

    @Test("an event log keeps a signal that came before anyone waited, and the ones after it")
    func eventLogRemembers() async throws {
        let log = EventLog<Int32>()
        let watcher = await SignalWatcher.start([SIGUSR2]) { log.append($0) }
        defer { watcher.cancel() }
        kill(getpid(), SIGUSR2)
        let first = try await within(.seconds(5), "the first signal") { await log.element(at: 0) }
        #expect(first == SIGUSR2)
        let waiting = Task { await log.element(at: 1) }
        kill(getpid(), SIGUSR2)
        #expect(try await within(.seconds(5), "the second signal") { await waiting.value } == SIGUSR2)
    }

    @Test("a wait on an event log ends with nil when its task is cancelled")
    func eventLogCancelled() async throws {
        let log = EventLog<Int>()
        let waiting = Task { await log.element(at: 0) }
        waiting.cancel()
        #expect(try await within(.seconds(5), "the cancelled wait") { await waiting.value } == nil)
        log.append(1)
        #expect(await log.element(at: 0) == 1)
    }
}
