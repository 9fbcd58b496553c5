import Discovery
import Synchronization
import TestSupport
import Testing

/// The lifecycle every instancer shares, without a server.
@Suite("InstancerCore")
struct InstancerCoreTests {
    typealias Machine = InstancerStateMachine

    @Test("the machine: stop cancels the loop once; the loop's end finishes it")
    func machineStopThenLoopEnds() {
        var machine = Machine(hasLoop: true)
        let task = Task<Void, Never> {}
        guard case .none = machine.attach(task) else {
            Issue.record("attached loop cancelled")
            return
        }
        let stop = machine.stop()
        #expect(stop?.cancel != nil && stop?.stopSubscriptions == true)
        #expect(machine.stop() == nil, "a second stop does nothing")
        #expect(machine.isStopped)
        let ended = machine.loopEnded()
        #expect(ended != nil && ended?.stopSubscriptions == false, "the subscriptions ended with the stop")
        #expect(machine.loopEnded() == nil)
    }

    @Test("the machine: a stop before the loop's task is attached cancels it on attach")
    func machineStopBeforeAttach() {
        var machine = Machine(hasLoop: true)
        #expect(machine.stop()?.cancel == nil)
        guard case .cancel = machine.attach(Task<Void, Never> {}) else {
            Issue.record("a task attached after stop() was left running")
            return
        }
    }

    @Test("the machine: a loop that ends by itself stops the instancer")
    func machineLoopEndsByItself() {
        var machine = Machine(hasLoop: true)
        _ = machine.attach(Task<Void, Never> {})
        #expect(machine.loopEnded()?.stopSubscriptions == true)
        #expect(machine.isStopped)
        #expect(machine.stop() == nil)
    }

    @Test("the machine: without a loop, stop finishes at once")
    func machineWithoutLoop() {
        var machine = Machine(hasLoop: false)
        #expect(machine.stop()?.stopSubscriptions == true)
        guard case .finished = machine.state else {
            Issue.record("not finished: \(machine.state)")
            return
        }
    }

    @Test("a core dropped without stop() cancels its loop and ends its subscriptions")
    func droppedCoreStops() async throws {
        let cancelled = Atomic<Bool>(false)
        var core: InstancerCore? = InstancerCore { cache in
            cache.update([Instance(address: "10.0.0.1:80")])
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(60)) }
            cancelled.store(true, ordering: .relaxed)
        }
        let subscription = try #require(core).cache.subscribe()
        try await subscription.set(["10.0.0.1:80"])
        core = nil
        try await within(.seconds(10), "the subscription to end") {
            for await _ in subscription {}
        }
        try await eventually(.seconds(10), "the loop to be cancelled") { cancelled.load(ordering: .relaxed) }
    }

    @Test("run() returns once stop() is called and the loop has returned")
    func runReturnsOnStop() async throws {
        let loopReturned = Atomic<Bool>(false)
        let core = InstancerCore { _ in
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(60)) }
            loopReturned.store(true, ordering: .relaxed)
        }
        try await within(.seconds(10), "run() to return") {
            async let running: Void = core.run()
            core.stop()
            await running
        }
        let returned = loopReturned.load(ordering: .relaxed)
        #expect(returned, "run() returned before the loop did")
        #expect(core.isStopped)
    }

    @Test("cancelling run() stops the instancer, as a task group or ServiceGroup does")
    func cancellingRunStops() async throws {
        let core = InstancerCore { _ in
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(60)) }
        }
        let subscription = core.cache.subscribe()
        let runner = Task { await core.run() }
        runner.cancel()
        try await within(.seconds(10), "run() to return") { await runner.value }
        #expect(core.isStopped)
        try await within(.seconds(10), "the subscription to end") {
            for await _ in subscription {}
        }
    }

    @Test("a loop that returns by itself ends the subscriptions and run()")
    func loopEndingStops() async throws {
        let core = InstancerCore { cache in cache.update([]) }
        try await within(.seconds(10), "run() to return") { await core.run() }
        #expect(core.isStopped)
        let subscription = core.cache.subscribe()
        try await within(.seconds(10), "a late subscription to end") {
            for await _ in subscription {}
        }
    }

    @Test("a callback-driven core runs its stop hook once, on the first stop")
    func stopHookOnce() {
        let stops = Atomic<Int>(0)
        let core = InstancerCore(onStop: { stops.wrappingAdd(1, ordering: .relaxed) })
        core.stop()
        core.stop()
        let count = stops.load(ordering: .relaxed)
        #expect(count == 1)
    }
}
