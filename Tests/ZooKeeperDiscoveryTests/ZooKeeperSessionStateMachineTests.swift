import Discovery
import TestSupport
import Testing

@testable import ZooKeeperDiscovery

/// The client's session decisions, without a server: which handle's events count, when a
/// disconnection becomes a lost session, what is final.
@Suite("ZooKeeperSessionStateMachine")
struct ZooKeeperSessionStateMachineTests {
    /// Handles are names here.
    typealias Machine = ZooKeeperSessionStateMachine<String>

    private static let timeout = Duration.seconds(4)

    /// A machine whose first handle ("h1") is installed and connected with session 0x10.
    private static func connected() -> StateMachineDriver<Machine> {
        let driver = StateMachineDriver(Machine())
        let number = driver.machine.beginOpening()
        #expect(driver.machine.opened("h1", number: number) == true)
        #expect(
            driver.machine.libraryStateChanged(
                .connected, handleNumber: number, sessionID: 0x10, receiveTimeout: timeout)
                == .connected(.connected(session: 0x10, number: 1)))
        return driver
    }

    private static func handle(_ access: Machine.HandleAccess) -> String? {
        if case .handle(let handle) = access { return handle }
        return nil
    }

    @Test("a handle's events count before zookeeper_init returns; waiters wait until connected")
    func eventsWhileOpening() {
        let driver = StateMachineDriver(Machine())
        let number = driver.machine.beginOpening()
        #expect(driver.machine.waitOutcome == .wait)
        #expect(Self.handle(driver.machine.handleForRequest) == nil)
        let action = driver.machine.libraryStateChanged(
            .connected, handleNumber: number, sessionID: 7, receiveTimeout: Self.timeout)
        #expect(action == .connected(.connected(session: 7, number: 1)))
        #expect(driver.machine.isConnected)
        #expect(driver.machine.waitOutcome == .connected)
        #expect(driver.machine.opened("h1", number: number) == true)
        #expect(driver.machine.opening == nil)
        #expect(Self.handle(driver.machine.handleForRequest) == "h1")
    }

    @Test("events of a handle other than the newest are ignored")
    func staleHandle() {
        let driver = Self.connected()
        #expect(
            driver.machine.libraryStateChanged(
                .expired, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
                == .expired)
        #expect(driver.machine.takeHandleForReplacement() == "h1")
        // The old handle's late events, before and after its successor opens.
        #expect(
            driver.machine.libraryStateChanged(
                .connected, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
                == .none)
        let second = driver.machine.beginOpening()
        #expect(second == 2)
        #expect(
            driver.machine.libraryStateChanged(
                .connecting, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
                == .none)
        #expect(driver.machine.opened("h2", number: second) == true)
        #expect(
            driver.machine.libraryStateChanged(
                .connected, handleNumber: 2, sessionID: 0x20, receiveTimeout: Self.timeout)
                == .connected(.connected(session: 0x20, number: 2)))
    }

    @Test("a disconnection is reported once, with a loss timer of the receive timeout")
    func disconnection() {
        let driver = Self.connected()
        #expect(
            driver.machine.libraryStateChanged(
                .connecting, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
                == .disconnected(disconnection: 1, lossAfter: Self.timeout))
        #expect(
            driver.machine.libraryStateChanged(
                .connecting, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
                == .none)
        #expect(driver.machine.waitOutcome == .wait)
        // Requests still go to the handle: the library queues them until it reconnects.
        #expect(Self.handle(driver.machine.handleForRequest) == "h1")
    }

    @Test("a disconnection still current when its timer fires gives the session up")
    func sessionLost() {
        let driver = Self.connected()
        _ = driver.machine.libraryStateChanged(
            .connecting, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
        #expect(driver.machine.lossTimerFired(disconnection: 1, handleNumber: 1) == "h1")
        #expect(driver.machine.phase == .expired)
        #expect(driver.machine.lossTimerFired(disconnection: 1, handleNumber: 1) == nil)
        #expect(driver.machine.currentHandle == nil)
        #expect(
            driver.machine.libraryStateChanged(
                .connected, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
                == .none,
            "the given-up handle no longer counts")
    }

    @Test("a reconnect, or a later disconnection, makes an earlier loss timer moot")
    func lossTimerMoot() {
        let driver = Self.connected()
        _ = driver.machine.libraryStateChanged(
            .connecting, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
        _ = driver.machine.libraryStateChanged(
            .connected, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
        #expect(driver.machine.lossTimerFired(disconnection: 1, handleNumber: 1) == nil)
        #expect(
            driver.machine.libraryStateChanged(
                .connecting, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
                == .disconnected(disconnection: 2, lossAfter: Self.timeout))
        #expect(driver.machine.lossTimerFired(disconnection: 1, handleNumber: 1) == nil)
        #expect(driver.machine.lossTimerFired(disconnection: 2, handleNumber: 1) == "h1")
    }

    @Test("authentication failure is final: waiters fail, requests are refused, later events ignored")
    func authenticationFailed() {
        let driver = Self.connected()
        #expect(
            driver.machine.libraryStateChanged(
                .authenticationFailed, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
                == .authenticationFailed)
        #expect(driver.machine.waitOutcome == .failed)
        guard case .authenticationFailed = driver.machine.handleForRequest else {
            Issue.record("requests not refused after an authentication failure")
            return
        }
        #expect(
            driver.machine.libraryStateChanged(
                .connected, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
                == .none)
        #expect(!driver.machine.isConnected)
    }

    @Test("close gives the handle once, and is final")
    func close() {
        let driver = Self.connected()
        guard case .close("h1") = driver.machine.close() else {
            Issue.record("close did not give the handle")
            return
        }
        guard case .none = driver.machine.close() else {
            Issue.record("a second close acted again")
            return
        }
        #expect(driver.machine.isClosed)
        #expect(driver.machine.waitOutcome == .failed)
        #expect(driver.machine.currentHandle == nil)
        guard case .closed = driver.machine.handleForRequest else {
            Issue.record("requests not refused after close")
            return
        }
        #expect(
            driver.machine.libraryStateChanged(
                .connected, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
                == .none)
    }

    @Test("a handle opened after close is not installed; one whose init failed is forgotten")
    func openAfterClose() {
        let driver = StateMachineDriver(Machine())
        let first = driver.machine.beginOpening()
        driver.machine.openFailed(number: first)
        #expect(driver.machine.opening == nil)
        let second = driver.machine.beginOpening()
        guard case .close(nil) = driver.machine.close() else {
            Issue.record("close without a handle acted wrongly")
            return
        }
        #expect(driver.machine.opened("late", number: second) == false)
        #expect(driver.machine.currentHandle == nil)
    }

    @Test("the reopen backoff grows while opening fails and starts over once connected")
    func reopenBackoff() {
        let driver = Self.connected()
        let first = driver.machine.reopenFailed()
        let second = driver.machine.reopenFailed()
        #expect(first <= .milliseconds(100))
        #expect(second >= .milliseconds(100))
        _ = driver.machine.libraryStateChanged(
            .connected, handleNumber: 1, sessionID: 0x10, receiveTimeout: Self.timeout)
        #expect(driver.machine.reopenFailed() <= .milliseconds(100))
    }
}
