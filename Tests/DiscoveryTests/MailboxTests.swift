import Synchronization
import TestSupport
import Testing

@testable import Discovery

@Suite("Subscription mailbox")
struct MailboxTests {
    @Test("a cancel that lands before the wait is installed still ends a non-ending wait")
    func cancelBeforeWaitIsNotLost() async throws {
        let cache = InstanceCache()
        let subscription = cache.subscribe()
        let mailbox = subscription.mailbox
        let returned = Atomic<Bool>(false)
        let waiter = Task {
            // Cancelled before `next` runs: its cancellation handler fires before the waiter is
            // installed, which is the window the endpointer's timer race hits.
            withUnsafeCurrentTask { $0?.cancel() }
            let event = await mailbox.next(endOnCancel: false)
            returned.store(true, ordering: .releasing)
            return event
        }
        let ended =
            await
            (try? eventually(.seconds(2), "the cancelled wait to return") {
                returned.load(ordering: .acquiring)
            }) != nil
        if !ended { cache.update([Instance(address: "a:1")]) }  // unblock it so the test ends
        #expect(ended)
        #expect(await waiter.value == nil)
        // Only that wait ended; the subscription goes on.
        #expect(!mailbox.isFinished)
        cache.update([Instance(address: "b:1")])
        #expect(subscription.poll() == .instances([Instance(address: "b:1")]))
    }
}
