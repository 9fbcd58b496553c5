import Discovery
import Testing

@testable import SDCTLKit

@Suite("The live watch view")
struct LiveWatchViewTests {
    func plain(_ text: String, _ code: String) -> String { text }

    @Test("ages, joins, leaves, flaps and churn over a minute")
    func lifecycle() {
        var view = LiveWatchView(targets: [("web", "file")])
        let a = Instance(address: "10.0.0.1:80", tags: ["blue"], metadata: ["zone": "a"])
        let b = Instance(address: "10.0.0.2:80")
        view.apply([a], target: 0, now: 100)
        var screen = view.render(width: 80, height: 10, now: 100, paint: plain)
        #expect(screen[0] == "sdctl watch  web (file)  1 instance  churn/min +0 -0")
        #expect(screen[1] == "last error: none")
        #expect(screen.contains("  10.0.0.1:80  0s        0      blue zone=a"))

        view.apply([a, b], target: 0, now: 110)
        view.apply([a], target: 0, now: 115)
        view.apply([a, b], target: 0, now: 120)
        screen = view.render(width: 80, height: 10, now: 125, paint: plain)
        #expect(screen[0].hasSuffix("2 instances  churn/min +2 -1"))
        #expect(
            screen.contains("+ 10.0.0.2:80  5s        1      "), "joined 5 s ago, flapped once: \(screen)")
        #expect(screen.contains("  10.0.0.1:80  25s       0      blue zone=a"))

        view.apply([a], target: 0, now: 130)
        screen = view.render(width: 80, height: 10, now: 133, paint: { "<\($1)>\($0)" })
        #expect(screen.contains("<31>- 10.0.0.2:80  left 3s   1      "), "\(screen)")
        // A minute later the churn has gone out of the window and the departed row is gone.
        screen = view.render(width: 80, height: 10, now: 200, paint: plain)
        #expect(screen[0].hasSuffix("1 instance  churn/min +0 -0"))
        #expect(!screen.contains { $0.contains("10.0.0.2:80") })
        #expect(screen.contains("  10.0.0.1:80  1m40s     0      blue zone=a"))
        #expect(screen.last == "q or Ctrl-C: quit")
        #expect(screen.count == 10)
    }

    @Test("several targets, errors, and a screen too small for every row")
    func severalAndSmall() {
        var view = LiveWatchView(targets: [("web", "file"), ("zk://h/s", "zk")])
        #expect(view.render(width: 80, height: 8, now: 0, paint: plain)[1] == "waiting for the first answer…")
        view.apply((1...9).map { Instance(address: "10.0.0.\($0):80") }, target: 0, now: 1)
        view.apply([], target: 1, now: 1)
        view.fail("connection refused", target: 1, now: 2)
        let screen = view.render(width: 40, height: 8, now: 62, paint: plain)
        #expect(screen[1] == "last error (1m00s ago): zk://h/s: conne…")
        #expect(screen.allSatisfy { $0.count <= 40 })
        #expect(screen.contains { $0.hasPrefix("web     ") })
        #expect(screen[6].hasPrefix("… 7 more"), "\(screen)")
        view.apply([], target: 1, now: 63)
        #expect(view.render(width: 80, height: 8, now: 63, paint: plain)[1] == "last error: none")
    }

    @Test(
        "freshness: 'confirmed: now' while fresh; how long ago and STALE, in red, while kept through an error"
    )
    func freshness() {
        var view = LiveWatchView(targets: [("web", "file"), ("etcd://h/s", "etcd")])
        view.apply([Instance(address: "10.0.0.1:80")], target: 0, now: 1)
        view.apply([], target: 1, now: 1)
        view.wallClock = .seconds(1_000)
        view.freshness = [
            InstanceFreshness(confirmed: .seconds(1_000), isStale: false),
            InstanceFreshness(confirmed: .seconds(925), isStale: true),
        ]
        let screen = view.render(width: 100, height: 10, now: 2, paint: { "<\($1)>\($0)" })
        #expect(
            screen[2] == "<31>confirmed: web now, etcd://h/s 1m15s ago (STALE: kept through an error)",
            "\(screen)")
        view.freshness = [InstanceFreshness(confirmed: .seconds(1_000), isStale: false), nil]
        #expect(view.render(width: 100, height: 10, now: 2, paint: plain)[2] == "confirmed: web now")
        // Before any set there is no line.
        view.freshness = [nil, nil]
        #expect(
            !view.render(width: 100, height: 10, now: 2, paint: plain).contains { $0.hasPrefix("confirmed") })
    }
}
