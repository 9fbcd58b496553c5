import Discovery

/// The multicast DNS state machines fed hostile packets, for Tests/Fuzz: not API.
@_spi(Fuzzing)
public enum MDNSFuzzing {
    /// The most records the fuzzed querier caches: small, so that floods reach the bound.
    static let maximumRecords = 64

    /// Splits `input` into packets (each a 2-byte big-endian length, then that many bytes), and
    /// gives each to a querier browsing `_http._tcp.local` and to a responder that has announced
    /// `web._http._tcp.local`, 300 ms apart, from port 5353 or (every third) a legacy port, with
    /// their timers run in between. Stops the program if the querier caches more than its
    /// bound or either sends a packet the decoder refuses; returns how many packets decoded.
    public static func run(_ input: UnsafeRawBufferPointer) -> Int {
        let start = ContinuousClock.now
        let querier = MDNSQuerier(
            configuration: MDNSInstancer.Configuration(
                serviceType: "_http._tcp.local", resolve: .any, maximumRecords: maximumRecords),
            logger: DiscoveryLogging.disabled, publish: { _ in }, fail: { _ in })
        let responder = MDNSResponder(
            registration: MDNSResponder.Registration(
                serviceType: "_http._tcp.local", instanceLabel: "web", port: 8080, priority: 0, weight: 0,
                hostLabel: "web", foreignTarget: nil, addresses: [.a(0x0A00_0001)], txt: [Array("k=v".utf8)],
                hostTTL: 120, otherTTL: 4500),
            logger: DiscoveryLogging.disabled, announced: { _ in })
        check(querier.start(now: start))
        check(responder.start(now: start))
        var now = start
        // Through probing and announcing: nothing else is on this link.
        while let deadline = responder.deadline, deadline < start + .seconds(5) {
            now = deadline
            check(responder.tick(now: now))
        }
        var offset = 0
        var decoded = 0
        var index = 0
        while offset + 2 <= input.count {
            let length = Int(input[offset]) << 8 | Int(input[offset + 1])
            let packet = UnsafeRawBufferPointer(
                rebasing: input[offset + 2..<min(offset + 2 + length, input.count)])
            offset += 2 + length
            index += 1
            now = now + .milliseconds(300)
            for driver in [querier, responder] as [any MDNSDriverTicking] { driver.run(until: now) }
            guard let message = try? DNSMessage(decoding: packet) else { continue }
            decoded += 1
            let peer = MDNSSockets.Peer(
                ipv4: [10, 0, 0, UInt8(truncatingIfNeeded: index)],
                port: index % 3 == 0 ? 40000 : MDNSSockets.port)
            check(querier.receive(message, from: peer, now: now))
            check(responder.receive(message, from: peer, now: now))
            precondition(querier.cachedRecords <= maximumRecords, "the querier's cache passed its bound")
        }
        // A minute on: expiries, refreshes and the backing-off queries.
        for driver in [querier, responder] as [any MDNSDriverTicking] {
            driver.run(until: now + .seconds(60))
        }
        _ = querier.currentInstances()
        return decoded
    }

    /// Every packet a state machine sends must decode.
    static func check(_ outgoing: [MDNSOutgoing]) {
        for packet in outgoing {
            switch packet {
            case .multicast(let bytes), .unicast(let bytes, _):
                precondition(
                    (try? DNSMessage(decoding: bytes)) != nil, "an mDNS packet of ours does not decode")
            case .sent(let done):
                done()
            }
        }
    }
}

/// A driver whose timers can be run up to an instant, checking what they send.
protocol MDNSDriverTicking: AnyObject {
    func run(until instant: ContinuousClock.Instant)
}

extension MDNSQuerier: MDNSDriverTicking {}
extension MDNSResponder: MDNSDriverTicking {}

extension MDNSDriver {
    /// Ticks at `instant` while something is due by then (the fuzzer's clock only moves on).
    func run(until instant: ContinuousClock.Instant) {
        // Bounded: a deadline that never moves on is a finding, not a hang.
        for _ in 0..<10_000 {
            guard let deadline, deadline <= instant else { return }
            MDNSFuzzing.check(tick(now: instant))
        }
        preconditionFailure("an mDNS timer does not move on")
    }
}
