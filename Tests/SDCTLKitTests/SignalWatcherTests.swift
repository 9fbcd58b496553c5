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

    @Test("a latch remembers a signal that came before anyone waited")
    func latchRemembers() async throws {
        let latch = await SignalLatch.start([SIGUSR2])
        defer { latch.cancel() }
        kill(getpid(), SIGUSR2)
        let number = try await within(.seconds(5), "the latch") { await latch.wait() }
        #expect(number == SIGUSR2)
    }
}
