import Discovery
import TestSupport
import Testing

@testable import ZooKeeperDiscovery

/// The children watch's decisions, without a server: listings coalesce, one watch per session,
/// outages reported and ended once, the set kept sorted through changes.
@Suite("ZooKeeperChildrenWatchStateMachine")
struct ZooKeeperChildrenWatchStateMachineTests {
    typealias Machine = ZooKeeperChildrenWatchStateMachine

    private static func instance(_ name: String, port: Int) -> (name: String, instance: Instance?) {
        (name, Instance(address: "10.0.0.1:\(port)", id: name))
    }

    /// A machine that listed `names` (each an instance on its own port) in session 1.
    private static func listed(_ names: [String]) -> StateMachineDriver<Machine> {
        let driver = StateMachineDriver(Machine())
        #expect(driver.machine.begin(connectedSession: 1) == .list(armingWatch: true))
        let fresh = driver.machine.listed(names: names, armedWatch: true)
        let parsed = fresh.enumerated().map { instance($0.element, port: 8000 + $0.offset) }
        _ = driver.machine.read(names: names, fresh: fresh, parsed: parsed)
        #expect(driver.machine.listingFinished() == .none)
        return driver
    }

    @Test("begun connected, it lists and arms a watch; begun unconnected, it checks the connection")
    func begin() {
        let connected = StateMachineDriver(Machine())
        #expect(connected.machine.begin(connectedSession: 3) == .list(armingWatch: true))
        #expect(connected.machine.session == 3)
        let unconnected = StateMachineDriver(Machine())
        #expect(unconnected.machine.begin(connectedSession: nil) == .checkConnection)
        #expect(unconnected.machine.outage == .checking)
        #expect(unconnected.machine.session == 0)
    }

    @Test("requests during a listing make one more listing, not one each")
    func listingsCoalesce() {
        let driver = StateMachineDriver(Machine())
        _ = driver.machine.begin(connectedSession: 1)
        #expect(driver.machine.requestListing() == .none)
        #expect(driver.machine.watchFired() == .none)
        #expect(driver.machine.listing == .listing(again: true))
        _ = driver.machine.listed(names: [], armedWatch: true)
        _ = driver.machine.read(names: [], fresh: [], parsed: [])
        // The watch is armed by the first listing: the second does not arm another.
        #expect(driver.machine.listingFinished() == .list(armingWatch: false))
        #expect(driver.machine.listingFinished() == .none)
        #expect(driver.machine.listing == .idle)
    }

    @Test("a listing retried after a failed read does not arm a second watch; a fired one is re-armed")
    func oneWatchAtATime() {
        let driver = StateMachineDriver(Machine())
        _ = driver.machine.begin(connectedSession: 1)
        _ = driver.machine.listed(names: ["a"], armedWatch: true)
        #expect(driver.machine.isWatchArmed)
        _ = driver.machine.listingFailed()
        #expect(driver.machine.listing == .idle)
        #expect(driver.machine.requestListing() == .list(armingWatch: false))
        _ = driver.machine.listingFailed()
        #expect(driver.machine.watchFired() == .list(armingWatch: true))
    }

    @Test("a failed listing drops a pending request and backs off, growing until a set is read")
    func backoff() {
        let driver = StateMachineDriver(Machine())
        _ = driver.machine.begin(connectedSession: 1)
        _ = driver.machine.requestListing()
        let first = driver.machine.listingFailed()
        #expect(driver.machine.listing == .idle)
        #expect(first >= .milliseconds(50) && first <= .milliseconds(100))
        _ = driver.machine.requestListing()
        let second = driver.machine.listingFailed()
        #expect(second >= .milliseconds(100) && second <= .milliseconds(200))
        _ = driver.machine.requestListing()
        _ = driver.machine.listed(names: [], armedWatch: false)
        _ = driver.machine.read(names: [], fresh: [], parsed: [])
        _ = driver.machine.listingFinished()
        _ = driver.machine.requestListing()
        #expect(driver.machine.listingFailed() <= .milliseconds(100))
    }

    @Test("a new session re-lists and re-arms; a listing under way is asked to list again")
    func newSession() {
        let driver = Self.listed(["a"])
        #expect(driver.machine.isWatchArmed)
        #expect(driver.machine.connected(session: 2) == .list(armingWatch: true))
        #expect(driver.machine.session == 2)
        #expect(driver.machine.connected(session: 3) == .none)
        #expect(driver.machine.listing == .listing(again: true))
    }

    @Test("a reconnect in the same session publishes again only after a reported outage, once")
    func reconnectAfterOutage() {
        let driver = Self.listed(["a", "b"])
        #expect(driver.machine.connected(session: 1) == .none)
        #expect(driver.machine.disconnected() == true)
        #expect(driver.machine.disconnected() == false, "one connection check at a time")
        #expect(
            driver.machine.connectionChecked(connected: false) == .reportAndCheckAgain(everConnected: true))
        #expect(driver.machine.outage == .reported(checking: true))
        #expect(driver.machine.outageReported(connectedNow: false) == nil)
        let set = driver.machine.sorted
        #expect(set.map(\.id) == ["a", "b"])
        #expect(driver.machine.connected(session: 1) == .publish(set))
        #expect(driver.machine.connected(session: 1) == .none)
        // The check still pending ends when it finds the client connected.
        #expect(driver.machine.outage == .checking)
        #expect(driver.machine.connectionChecked(connected: true) == .none)
        #expect(driver.machine.outage == .none)
    }

    @Test("a reconnect while the outage was being reported publishes the set again")
    func reconnectDuringReport() {
        let driver = Self.listed(["a"])
        _ = driver.machine.disconnected()
        _ = driver.machine.connectionChecked(connected: false)
        let set = driver.machine.sorted
        #expect(driver.machine.outageReported(connectedNow: true) == set)
        #expect(driver.machine.connected(session: 1) == .none)
    }

    @Test(
        "a check that finds the client connected ends without a report; an unreached ensemble is 'never connected'"
    )
    func connectionCheck() {
        let driver = StateMachineDriver(Machine())
        _ = driver.machine.begin(connectedSession: nil)
        #expect(
            driver.machine.connectionChecked(connected: false) == .reportAndCheckAgain(everConnected: false))
        // Nothing was ever listed, so the end of the outage has no set to publish: the first
        // listing publishes one.
        #expect(driver.machine.connected(session: 1) == .list(armingWatch: true))
        #expect(driver.machine.outage == .checking)
        #expect(driver.machine.connectionChecked(connected: true) == .none)
        #expect(driver.machine.outage == .none)
        #expect(driver.machine.disconnected() == true)
    }

    @Test("after stop nothing starts: no listing, no check, no republication")
    func stop() {
        let driver = Self.listed(["a"])
        _ = driver.machine.disconnected()
        _ = driver.machine.connectionChecked(connected: false)
        #expect(driver.machine.stop() == true)
        #expect(driver.machine.stop() == false, "stop is idempotent")
        #expect(driver.machine.requestListing() == .none)
        #expect(driver.machine.watchFired() == .none)
        #expect(driver.machine.connected(session: 1) == .none)
        #expect(driver.machine.connected(session: 2) == .none)
        #expect(driver.machine.disconnected() == false)
        #expect(driver.machine.connectionChecked(connected: false) == .none)
        #expect(!driver.machine.outage.isChecking)
    }

    @Test("only unseen children are read; removals and additions keep the set sorted")
    func setChanges() {
        let driver = Self.listed(["c", "a", "b"])
        #expect(driver.machine.sorted.map(\.address) == ["10.0.0.1:8000", "10.0.0.1:8001", "10.0.0.1:8002"])
        _ = driver.machine.requestListing()
        let fresh = driver.machine.listed(names: ["a", "d", "c"], armedWatch: false)
        #expect(fresh == ["d"])
        let set = driver.machine.read(
            names: ["a", "d", "c"], fresh: fresh, parsed: [Self.instance("d", port: 7999)])
        #expect(set.map(\.id) == ["d", "c", "a"])
        #expect(set == set.sorted())
        #expect(driver.machine.known == ["a", "c", "d"])
    }

    @Test("a child whose data is not an address is known (not read again) but not in the set")
    func unusableChild() {
        let driver = StateMachineDriver(Machine())
        _ = driver.machine.begin(connectedSession: 1)
        let fresh = driver.machine.listed(names: ["bad", "good"], armedWatch: true)
        let set = driver.machine.read(
            names: ["bad", "good"], fresh: fresh, parsed: [("bad", nil), Self.instance("good", port: 1)])
        #expect(set.map(\.id) == ["good"])
        _ = driver.machine.listingFinished()
        _ = driver.machine.requestListing()
        #expect(driver.machine.listed(names: ["bad", "good"], armedWatch: false).isEmpty)
    }

    @Test("a child gone between the listing and its read is not known, and is read when it returns")
    func childGoneBeforeRead() {
        let driver = StateMachineDriver(Machine())
        _ = driver.machine.begin(connectedSession: 1)
        let fresh = driver.machine.listed(names: ["a", "b"], armedWatch: true)
        let set = driver.machine.read(names: ["a", "b"], fresh: fresh, parsed: [Self.instance("a", port: 1)])
        #expect(set.map(\.id) == ["a"])
        _ = driver.machine.listingFinished()
        _ = driver.machine.requestListing()
        #expect(driver.machine.listed(names: ["a", "b"], armedWatch: false) == ["b"])
    }

    @Test("many children at once (a first listing) come out sorted")
    func manyAtOnce() {
        let driver = StateMachineDriver(Machine())
        _ = driver.machine.begin(connectedSession: 1)
        let names = (0..<1000).map { "n\($0)" }.shuffled()
        let fresh = driver.machine.listed(names: names, armedWatch: true)
        let set = driver.machine.read(
            names: names, fresh: fresh,
            parsed: fresh.map { Self.instance($0, port: Int($0.dropFirst())! + 1) })
        #expect(set.count == 1000)
        #expect(set == set.sorted())
    }

    @Test("a created path is listed at once")
    func pathCreated() {
        let driver = StateMachineDriver(Machine())
        _ = driver.machine.begin(connectedSession: 1)
        #expect(driver.machine.pathCreated() == .list(armingWatch: true))
    }
}
