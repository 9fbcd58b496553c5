import Discovery
import Testing

@Suite("Backoff")
struct BackoffTests {
    @Test("grows by the multiplier up to the maximum, within the jitter band")
    func growsAndCaps() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1), multiplier: 2, jitter: 0.5)
        let bases: [Duration] = [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1),
            .seconds(1),
        ]
        for base in bases {
            let delay = backoff.next()
            #expect(delay <= base)
            #expect(delay >= base * 0.5)
        }
    }

    @Test("jitter spreads delays; reset starts over")
    func jitterAndReset() {
        var backoff = Backoff(initial: .seconds(1), maximum: .seconds(1), jitter: 1)
        let delays = Set((0..<50).map { _ in backoff.next() })
        #expect(delays.count > 40)
        var plain = Backoff(initial: .milliseconds(10), maximum: .seconds(10), jitter: 0)
        _ = plain.next()
        _ = plain.next()
        plain.reset()
        #expect(plain.next() == .milliseconds(10))
    }
}
