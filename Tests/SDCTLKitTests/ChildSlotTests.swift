import Foundation
import Testing

@testable import SDCTLKit

#if canImport(Glibc)
    import Glibc
#endif

/// Issue #23 item 6 (c) and (d): a signal before the child exists is kept for it, and none
/// reaches a child's pid once the child has ended.
@Suite("The wrapped command's slot")
struct ChildSlotTests {
    @Test("a signal that comes before the child starts is delivered as it starts")
    func pendingSignal() async throws {
        let slot = ChildSlot()
        slot.signal(SIGTERM)
        let child = try ChildProcess.spawn(["sleep", "30"])
        slot.started(child, ownGroup: true)
        let ended = await child.wait(beforeReaping: { slot.ended() })
        #expect(ended == .signaled(SIGTERM))
    }

    @Test("after the child ended, a forward goes nowhere (its pid may be someone else's)")
    func noSignalAfterEnd() async throws {
        let slot = ChildSlot()
        let child = try ChildProcess.spawn(["sleep", "30"])
        slot.started(child, ownGroup: true)
        slot.ended()
        slot.signal(SIGTERM)
        // Still running: the forward was dropped.
        var status: Int32 = 0
        #expect(waitpid(child.pid, &status, WNOHANG) == 0)
        child.signal(SIGKILL)
        #expect(await child.wait() == .signaled(SIGKILL))
    }
}
