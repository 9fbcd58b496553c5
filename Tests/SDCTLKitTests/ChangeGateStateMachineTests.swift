import Discovery
import Testing

@testable import SDCTLKit

/// Issue #29: when `--exec` and `--template` run (quiescence, the first set, repeats), and
/// what a change is.
@Suite("Change gate and set differences")
struct ChangeGateStateMachineTests {
    typealias Snapshot = WatchHandler.Snapshot

    func snapshot(_ addresses: String...) -> Snapshot {
        Snapshot(groups: [("web", addresses.map { Instance(address: $0) })])
    }

    let start = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { start + .milliseconds(milliseconds) }

    @Test("without --wait: the first set and each different set run at once; a repeat runs nothing")
    func immediate() {
        var machine = ChangeGateStateMachine(.init())
        #expect(machine.changed(snapshot("a"), now: at(0)) == .run(snapshot("a")))
        #expect(machine.changed(snapshot("a", "b"), now: at(1)) == .run(snapshot("a", "b")))
        #expect(machine.changed(snapshot("a", "b"), now: at(2)) == .none)
        #expect(machine.changed(snapshot("a"), now: at(3)) == .run(snapshot("a")))
    }

    @Test("--changes-only: the first set runs nothing and is what changes are compared with")
    func changesOnly() {
        var machine = ChangeGateStateMachine(.init(skipFirst: true))
        #expect(machine.changed(snapshot("a"), now: at(0)) == .none)
        #expect(machine.changed(snapshot("a"), now: at(1)) == .none)
        #expect(machine.changed(snapshot("b"), now: at(2)) == .run(snapshot("b")))
    }

    @Test(
        "--wait MIN:MAX: a burst runs once, MIN after its last change, never later than MAX after its first")
    func quiescence() {
        var machine = ChangeGateStateMachine(.init(minimum: .milliseconds(100), maximum: .milliseconds(300)))
        #expect(machine.changed(snapshot("a"), now: at(0)) == .run(snapshot("a")))  // the first at once
        #expect(machine.changed(snapshot("a", "b"), now: at(1000)) == .wake(at: at(1100)))
        #expect(machine.timerFired(now: at(1050)) == .wake(at: at(1100)))
        #expect(machine.changed(snapshot("a", "b", "c"), now: at(1080)) == .wake(at: at(1180)))
        #expect(machine.timerFired(now: at(1100)) == .wake(at: at(1180)))
        #expect(machine.timerFired(now: at(1180)) == .run(snapshot("a", "b", "c")))
        #expect(machine.timerFired(now: at(1200)) == .none)
        // A change every 90 ms never lets MIN pass: MAX ends the wait.
        var now = 2000
        var action = machine.changed(snapshot("x0"), now: at(now))
        for round in 1...5 {
            now += 90
            action = machine.changed(snapshot("x\(round)"), now: at(now))
        }
        #expect(action == .wake(at: at(2300)))
        #expect(machine.timerFired(now: at(2300)) == .run(snapshot("x5")))
    }

    @Test("--wait: a burst that ends where it began runs nothing; --wait-first makes the first set wait")
    func quiescenceEdges() {
        var machine = ChangeGateStateMachine(.init(minimum: .milliseconds(100), maximum: .milliseconds(400)))
        #expect(machine.changed(snapshot("a"), now: at(0)) == .run(snapshot("a")))
        #expect(machine.changed(snapshot("a", "b"), now: at(10)) == .wake(at: at(110)))
        #expect(machine.changed(snapshot("a"), now: at(20)) == .wake(at: at(120)))
        #expect(machine.timerFired(now: at(120)) == .none)

        var first = ChangeGateStateMachine(
            .init(minimum: .milliseconds(100), maximum: .milliseconds(400), waitFirst: true))
        #expect(first.changed(snapshot("a"), now: at(0)) == .wake(at: at(100)))
        #expect(first.timerFired(now: at(100)) == .run(snapshot("a")))
    }

    @Test("a difference: joins, leaves, and instances changed under the same address")
    func difference() {
        let old = [
            Instance(address: "10.0.0.1:80", tags: ["a"]), Instance(address: "10.0.0.2:80"),
            Instance(address: "10.0.0.3:80", metadata: ["v": "1"]),
        ]
        let new = [
            Instance(address: "10.0.0.1:80", tags: ["a"]),
            Instance(address: "10.0.0.3:80", metadata: ["v": "2"]),
            Instance(address: "10.0.0.4:80"),
        ]
        let found = WatchCommand.difference(new, previous: old)
        #expect(found.added.map(\.address) == ["10.0.0.4:80"])
        #expect(found.removed.map(\.address) == ["10.0.0.2:80"])
        #expect(found.changed == [Instance(address: "10.0.0.3:80", metadata: ["v": "2"])])
        #expect(WatchCommand.difference(new, previous: nil).added == new)
        #expect(WatchCommand.difference(new, previous: new) == ([], [], []))
        let weighted = [Instance(address: "10.0.0.1:80", tags: ["a"], weight: 5)]
        #expect(WatchCommand.difference(weighted, previous: [old[0]]).changed == weighted)
    }
}
