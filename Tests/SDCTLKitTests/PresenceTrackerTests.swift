import Discovery
import Testing

@testable import SDCTLKit

/// `bench propagation`'s view of a watcher: stamps for tracked addresses found by binary search.
@Suite("bench propagation's presence tracker")
struct PresenceTrackerTests {
    static func set(_ addresses: [String]) -> [Instance] {
        addresses.map { Instance(address: $0) }.sorted()
    }

    @Test("a tracked address gets the time its set arrived, even when the wait starts later")
    func stampsTrackedAddresses() async {
        let tracker = PresenceTracker()
        let many = (0..<1000).map { "10.0.\($0 / 256).\($0 % 256):80" }
        tracker.update(Self.set(many), at: 100)
        #expect(await tracker.waitForFirstSet(timeout: .seconds(5)))
        tracker.track("127.0.0.1:20000")
        tracker.update(Self.set(many + ["127.0.0.1:20000"]), at: 200)
        tracker.update(Self.set(many + ["127.0.0.1:20000", "10.9.9.9:80"]), at: 300)
        #expect(await tracker.wait(for: "127.0.0.1:20000", present: true, timeout: .seconds(5)) == 200)
        tracker.update(Self.set(many), at: 400)
        #expect(await tracker.wait(for: "127.0.0.1:20000", present: false, timeout: .seconds(5)) == 400)
        // The first and the last address of a sorted set are found too.
        #expect(await tracker.wait(for: many.sorted().first!, present: true, timeout: .seconds(5)) != nil)
        #expect(await tracker.wait(for: many.sorted().last!, present: true, timeout: .seconds(5)) != nil)
    }

    @Test("a wait is resumed by the set that satisfies it, and times out with nil otherwise")
    func waits() async {
        let tracker = PresenceTracker()
        tracker.update(Self.set(["10.0.0.1:80"]), at: 1)
        tracker.track("10.0.0.2:80")
        async let seen = tracker.wait(for: "10.0.0.2:80", present: true, timeout: .seconds(20))
        // The waiter may register before or after this update; either way it sees time 7.
        tracker.update(Self.set(["10.0.0.1:80", "10.0.0.2:80"]), at: 7)
        #expect(await seen == 7)
        #expect(await tracker.wait(for: "10.0.0.3:80", present: true, timeout: .milliseconds(50)) == nil)
    }
}
