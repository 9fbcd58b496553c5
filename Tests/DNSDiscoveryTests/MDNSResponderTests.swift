import Discovery
import Synchronization
import Testing

@testable import DNSDiscovery

/// The registering state machine of multicast DNS, driven with packets and instants of the
/// test's choosing: no sockets, no waiting.
@Suite("mDNS responder (RFC 6762 probing, announcing, answering)")
struct MDNSResponderTests {
    let peer = MDNSSockets.Peer(ipv4: [10, 0, 0, 2], port: 5353)

    final class Names: Sendable {
        let names = Mutex<[String]>([])
        func withLock<R>(_ body: (inout [String]) -> R) -> R { names.withLock { body(&$0) } }
    }

    func responder(txt: [[UInt8]] = [[]]) -> (MDNSResponder, Names) {
        let announced = Names()
        let registration = MDNSResponder.Registration(
            serviceType: "_http._tcp.local", instanceLabel: "web one", port: 8080, priority: 0, weight: 0,
            hostLabel: "web-one", foreignTarget: nil, addresses: [.a(0x0A00_0001)], txt: txt, hostTTL: 120,
            otherTTL: 4500)
        let responder = MDNSResponder(registration: registration, logger: DiscoveryLogging.disabled) { name in
            announced.withLock { $0.append(name) }
        }
        return (responder, announced)
    }

    /// The packets among `outgoing`, decoded.
    func decode(_ outgoing: [MDNSOutgoing]) throws -> [DNSMessage] {
        try outgoing.compactMap { packet in
            switch packet {
            case .multicast(let bytes), .unicast(let bytes, _): try DNSMessage(decoding: bytes)
            case .sent: nil
            }
        }
    }

    /// Runs the responder from start through its announcements; returns the first and when the
    /// second went.
    func announce(_ responder: MDNSResponder) throws -> (DNSMessage, ContinuousClock.Instant) {
        var now = ContinuousClock.now
        _ = responder.start(now: now)
        for _ in 0..<3 {
            now = try #require(responder.deadline)
            let probe = try #require(try decode(responder.tick(now: now)).first)
            #expect(!probe.isResponse && !probe.authorities.isEmpty)
        }
        now = try #require(responder.deadline)
        let first = try #require(try decode(responder.tick(now: now)).first)
        now = try #require(responder.deadline)
        _ = responder.tick(now: now)
        #expect(responder.deadline == nil, "running: nothing due")
        return (first, now)
    }

    @Test(
        "three probes 250 ms apart ask (QU, type ANY) for the names with the records in authority, then it announces twice"
    )
    func probeThenAnnounce() throws {
        let (responder, announced) = responder()
        let start = ContinuousClock.now
        _ = responder.start(now: start)
        var now = try #require(responder.deadline)
        #expect(now <= start + .milliseconds(250))
        var probes: [DNSMessage] = []
        for index in 0..<3 {
            if index > 0 {
                let next = try #require(responder.deadline)
                #expect(next == now + .milliseconds(250))
                now = next
            }
            probes += try decode(responder.tick(now: now))
        }
        #expect(probes.count == 3)
        #expect(Set(probes[0].questions.map(\.name)) == ["web\\032one._http._tcp.local", "web-one.local"])
        #expect(probes[0].questions.allSatisfy { $0.type.rawValue == 255 && $0.questionClass == 0x8001 })
        #expect(Set(probes[0].authorities.map(\.type)) == [.srv, .txt, .a])
        #expect(announced.withLock { $0 }.isEmpty)

        now = try #require(responder.deadline)
        let announcement = try #require(try decode(responder.tick(now: now)).first)
        #expect(announcement.isResponse && announcement.isAuthoritative)
        #expect(Set(announcement.answers.map(\.type)) == [.ptr, .srv, .txt, .a])
        let srv = try #require(announcement.answers.first { $0.type == .srv })
        #expect(srv.recordClass == 0x8001, "unique records carry the cache-flush bit")
        #expect(srv.data == .srv(priority: 0, weight: 0, port: 8080, target: "web-one.local"))
        #expect(announced.withLock { $0 } == ["web one"])
        #expect(responder.deadline == now + .seconds(1))
        #expect(try decode(responder.tick(now: now + .seconds(1))).count == 1, "the second announcement")
    }

    @Test(
        "its own announcement coming back is no conflict, metadata or none (an empty TXT record was once one)"
    )
    func ownAnnouncementIsNoConflict() throws {
        for txt in [[[UInt8]()], [Array("k=v".utf8)]] {
            let (responder, announced) = responder(txt: txt)
            let (announcement, at) = try announce(responder)
            _ = responder.receive(announcement, from: peer, now: at + .milliseconds(1))
            #expect(responder.instanceName == "web\\032one._http._tcp.local", "\(txt)")
            #expect(announced.withLock { $0 } == ["web one"])
        }
    }

    @Test(
        "another host's different SRV record for the name while probing: renamed 'web one (2)', host web-one-2"
    )
    func conflictRenames() throws {
        let (responder, announced) = responder()
        let start = ContinuousClock.now
        _ = responder.start(now: start)
        let now = try #require(responder.deadline)
        _ = responder.tick(now: now)
        let other = DNSMessage(
            id: 0, flags: 0x8400,
            answers: [
                DNSResourceRecord(
                    name: "web\\032one._http._tcp.local", type: .srv, recordClass: 0x8001, ttl: 120,
                    data: .srv(priority: 0, weight: 0, port: 9999, target: "elsewhere.local"))
            ])
        _ = responder.receive(other, from: peer, now: now + .milliseconds(10))
        #expect(responder.instanceName == "web\\032one\\032(2)._http._tcp.local")
        #expect(responder.target == "web-one-2.local")
        var clock = now + .milliseconds(10)
        while announced.withLock({ $0.isEmpty }) {
            clock = try #require(responder.deadline)
            _ = responder.tick(now: clock)
        }
        #expect(announced.withLock { $0 } == ["web one (2)"])
    }

    @Test("a PTR query is answered with the PTR, SRV, TXT and address records; a known answer is left out")
    func answers() throws {
        let (responder, _) = responder()
        let (_, at) = try announce(responder)
        let later = at + .seconds(5)
        let query = DNSMessage(
            id: 0, flags: 0, questions: [DNSQuestion(name: "_http._tcp.local", type: .ptr)])
        _ = responder.receive(query, from: peer, now: later)
        // Shared answers wait 20-120 ms.
        let due = try #require(responder.deadline)
        #expect(due >= later + .milliseconds(20) && due <= later + .milliseconds(120))
        let reply = try #require(try decode(responder.tick(now: due)).first)
        #expect(reply.answers.map(\.type) == [.ptr])
        #expect(Set(reply.additionals.map(\.type)) == [.srv, .txt, .a])

        var knowing = query
        knowing.answers = [
            DNSResourceRecord(
                name: "_http._tcp.local", type: .ptr, ttl: 4000, data: .ptr("web\\032one._http._tcp.local"))
        ]
        _ = responder.receive(knowing, from: peer, now: later + .seconds(5))
        #expect(responder.deadline == nil, "nothing to say: the asker knows the answer")
    }

    @Test(
        "a legacy query from another port is answered to its sender, with its id, question and TTLs of 10 s at most"
    )
    func legacyUnicast() throws {
        let (responder, _) = responder()
        let (_, at) = try announce(responder)
        let asker = MDNSSockets.Peer(ipv4: [10, 0, 0, 3], port: 40000)
        let query = DNSMessage(id: 4242, flags: 0, questions: [DNSQuestion(name: "web-one.local", type: .a)])
        let outgoing = responder.receive(query, from: asker, now: at + .seconds(5))
        guard case .unicast(let bytes, let to) = try #require(outgoing.first) else {
            Issue.record("not a unicast reply")
            return
        }
        #expect(to.port == 40000)
        let reply = try DNSMessage(decoding: bytes)
        #expect(reply.id == 4242 && reply.questions.map(\.name) == ["web-one.local"])
        #expect(reply.answers.map(\.data) == [.a(0x0A00_0001)] && reply.answers.allSatisfy { $0.ttl <= 10 })
    }

    @Test(
        "a query asking for unicast replies gets the records multicast within a quarter of their TTL unicast at once, the others multicast"
    )
    func unicastResponse() throws {
        let (responder, _) = responder()
        let (_, at) = try announce(responder)
        let srv = DNSQuestion(name: "web\\032one._http._tcp.local", type: .srv, questionClass: 0x8001)
        let query = DNSMessage(id: 0, flags: 0, questions: [srv])
        // Announced a moment ago: unicast, whatever the multicast rate limit.
        let soon = responder.receive(query, from: peer, now: at + .milliseconds(100))
        guard case .unicast(let bytes, let to) = try #require(soon.first), soon.count == 1 else {
            Issue.record("not one unicast reply: \(soon)")
            return
        }
        #expect(to.port == 5353)
        #expect(try DNSMessage(decoding: bytes).answers.map(\.type) == [.srv])
        // A quarter of the SRV's 120 s TTL later: multicast, so every cache has it again.
        let late = responder.receive(query, from: peer, now: at + .seconds(31))
        guard case .multicast(let multicast) = try #require(late.first), late.count == 1 else {
            Issue.record("not one multicast reply: \(late)")
            return
        }
        #expect(try DNSMessage(decoding: multicast).answers.map(\.type) == [.srv])

        // A probe for the name, asking for unicast too: the defense is multicast whatever was
        // sent lately (section 15.1: a unicast reply may reach another socket on its host).
        var probe = DNSMessage(
            id: 0, flags: 0,
            questions: [
                DNSQuestion(
                    name: "web\\032one._http._tcp.local", type: DNSRecordType(rawValue: 255),
                    questionClass: 0x8001)
            ])
        probe.authorities = [
            DNSResourceRecord(
                name: "web\\032one._http._tcp.local", type: .srv, ttl: 120,
                data: .srv(priority: 0, weight: 0, port: 9, target: "other.local"))
        ]
        let defense = responder.receive(probe, from: peer, now: at + .seconds(32))
        #expect(
            !defense.isEmpty && defense.allSatisfy { if case .multicast = $0 { true } else { false } },
            "\(defense)")
    }

    @Test(
        "the goodbye repeats every announced record with TTL 0, and its caller hears only after it is sent; before announcing there is nothing to say"
    )
    func goodbye() throws {
        let (responder, _) = responder()
        _ = try announce(responder)
        let told = Names()
        let (outgoing, stop) = responder.handle(
            .goodbye(done: { told.withLock { $0.append("done") } }), now: .now)
        #expect(stop)
        #expect(told.withLock { $0 }.isEmpty, "not told before the loop sends the goodbye")
        let goodbye = try #require(try decode(outgoing).first)
        #expect(Set(goodbye.answers.map(\.type)) == [.ptr, .srv, .txt, .a])
        #expect(goodbye.answers.allSatisfy { $0.ttl == 0 })
        guard outgoing.count == 2, case .multicast = outgoing[0], case .sent(let done) = outgoing[1] else {
            Issue.record("not the goodbye, then the call: \(outgoing)")
            return
        }
        done()
        #expect(told.withLock { $0 } == ["done"])

        let (fresh, _) = self.responder()
        _ = fresh.start(now: .now)
        let nothing = fresh.handle(.goodbye(done: {}), now: .now).outgoing
        #expect(try decode(nothing).isEmpty && nothing.count == 1)
    }
}
