import Discovery
import Synchronization
import Testing

/// The registrar lifecycle, without a server: every race the registrars used to lose.
@Suite("RegistrarStateMachine")
struct RegistrarStateMachineTests {
    typealias Machine = RegistrarStateMachine<String>

    @Test("register, register again (nothing to do), deregister, deregister again (nothing)")
    func plainLifecycle() {
        var machine = Machine()
        guard case .register(let attempt) = machine.register() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        #expect(machine.registered(attempt: attempt, "node-1") == .none)
        #expect(machine.registration == "node-1")
        guard case .none = machine.register() else {
            Issue.record("registered twice")
            return
        }
        guard case .remove("node-1", cancelRestorer: false) = machine.deregister() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        machine.deregistered()
        guard case .none = machine.deregister() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        #expect(!machine.isRegistered)
    }

    @Test("a second register while one is under way waits instead of registering twice")
    func concurrentRegister() {
        var machine = Machine()
        guard case .register(let attempt) = machine.register() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        guard case .wait = machine.register() else {
            Issue.record("registered twice")
            return
        }
        #expect(!machine.isSettled)
        _ = machine.registered(attempt: attempt, "node-1")
        #expect(machine.isSettled)
        guard case .none = machine.register() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
    }

    @Test("deregister while registering waits, then removes what was made")
    func deregisterWhileRegistering() {
        var machine = Machine()
        guard case .register(let attempt) = machine.register() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        guard case .wait = machine.deregister() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        _ = machine.registered(attempt: attempt, "node-1")
        guard case .remove("node-1", _) = machine.deregister() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
    }

    @Test("a failed registration leaves nothing and may be tried again")
    func failedRegistration() {
        var machine = Machine()
        guard case .register(let first) = machine.register() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        machine.registrationFailed(attempt: first)
        guard case .none = machine.deregister() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        guard case .register(let second) = machine.register() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        #expect(second != first)
    }

    @Test("a loss starts one restoration; deregister during it wins and the restorer undoes its work")
    func deregisterDuringRestore() {
        var machine = Machine()
        guard case .register(let attempt) = machine.register() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        _ = machine.registered(attempt: attempt, "node-1")
        guard case .restore(let restoring, "node-1") = machine.lost(keeping: "node-1") else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        guard case .none = machine.lost(keeping: "node-1") else {
            Issue.record("two restorers")
            return
        }
        #expect(machine.isRestoring(attempt: restoring))
        guard case .remove("node-1", cancelRestorer: true) = machine.deregister() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        #expect(!machine.isRestoring(attempt: restoring))
        // The restorer made a node just now: it must remove it, not keep it.
        #expect(machine.restored(attempt: restoring, "node-2") == .undo)
        machine.deregistered()
        #expect(machine.registration == nil)
    }

    @Test("a restoration that completes puts the new registration in place")
    func restoration() {
        var machine = Machine()
        guard case .register(let attempt) = machine.register() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        _ = machine.registered(attempt: attempt, "node-1")
        guard case .restore(let restoring, _) = machine.lost() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        #expect(machine.isRegistered, "still wanted while restoring")
        #expect(machine.restored(attempt: restoring, "node-2") == .none)
        #expect(machine.registration == "node-2")
        // A stale restorer of an older attempt is told to undo.
        #expect(machine.restored(attempt: restoring, "node-3") == .undo)
    }

    @Test("a loss while unregistered or deregistering restores nothing")
    func lossWhenNotWanted() {
        var machine = Machine()
        guard case .none = machine.lost() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        guard case .register(let attempt) = machine.register() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
        _ = machine.registered(attempt: attempt, "node-1")
        _ = machine.deregister()
        guard case .none = machine.lost() else {
            Issue.record("unexpected action in \(machine.state)")
            return
        }
    }

    @Test("RegistrarLifecycle wakes a waiting operation when the state settles")
    func lifecycleWakesWaiters() async {
        let lifecycle = RegistrarLifecycle<String>()
        guard case .register(let attempt) = lifecycle.withMachine({ $0.register() }) else {
            Issue.record("register() did not say to register")
            return
        }
        let woke = Atomic<Bool>(false)
        let waiter = Task {
            await lifecycle.waitUntilSettled()
            woke.store(true, ordering: .releasing)
        }
        let early = woke.load(ordering: .acquiring)
        #expect(!early)
        _ = lifecycle.withMachine { $0.registered(attempt: attempt, "node-1") }
        await waiter.value
        let late = woke.load(ordering: .acquiring)
        #expect(late)
    }
}
