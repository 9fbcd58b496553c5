import Discovery
import Foundation
import Synchronization
import TestSupport
import Testing

@_spi(Fuzzing) @testable import DNSDiscovery

/// The browsing state machine of multicast DNS, driven with packets and instants of the test's
/// choosing: no sockets, no waiting.
@Suite("mDNS querier (RFC 6762 browsing)")
struct MDNSQuerierTests {
    final class Published: Sendable {
        let sets = Mutex<[[Instance]]>([])
        let failures = Mutex<[DiscoveryError]>([])
    }

    let responder = MDNSSockets.Peer(ipv4: [10, 0, 0, 9], port: 5353)

    func querier(maximumRecords: Int = 4000, resolve: SRVInstancer.AddressResolution = .none) -> (
        MDNSQuerier, Published
    ) {
        let published = Published()
        let querier = MDNSQuerier(
            configuration: MDNSInstancer.Configuration(
                serviceType: "_http._tcp.local", resolve: resolve, settle: .seconds(1),
                maximumRecords: maximumRecords),
            logger: DiscoveryLogging.disabled,
            publish: { set in published.sets.withLock { $0.append(set) } },
            fail: { error in published.failures.withLock { $0.append(error) } })
        return (querier, published)
    }

    /// A response announcing `instance` (PTR, SRV, TXT, A) with `ttl`.
    func announcement(_ instance: String, port: UInt16 = 8080, ttl: UInt32 = 120) throws -> DNSMessage {
        var writer = DNSMessageWriter(flags: DNSMessageWriter.responseFlags)
        let name = "\(instance)._http._tcp.local"
        try writer.record(
            DNSResourceRecord(name: "_http._tcp.local", type: .ptr, ttl: ttl, data: .ptr(name)), to: .answer)
        try writer.record(
            DNSResourceRecord(
                name: name, type: .srv, ttl: ttl,
                data: .srv(priority: 0, weight: 0, port: port, target: "\(instance).local")), to: .answer,
            cacheFlush: true)
        try writer.record(
            DNSResourceRecord(name: name, type: .txt, ttl: ttl, data: .txt([Array("path=/x".utf8)])),
            to: .answer,
            cacheFlush: true)
        try writer.record(
            DNSResourceRecord(name: "\(instance).local", type: .a, ttl: ttl, data: .a(0x0A00_0009)),
            to: .additional,
            cacheFlush: true)
        return try DNSMessage(decoding: writer.bytes)
    }

    func packets(_ outgoing: [MDNSOutgoing]) throws -> [DNSMessage] {
        try outgoing.map { packet in
            guard case .multicast(let bytes) = packet else {
                throw DiscoveryError(.invalidArgument, "not multicast")
            }
            return try DNSMessage(decoding: bytes)
        }
    }

    @Test("the first query goes 20-120 ms after start asking for unicast replies; then 1 s, 2 s, 4 s apart")
    func schedule() throws {
        let (querier, _) = querier()
        let start = ContinuousClock.now
        _ = querier.start(now: start)
        let first = try #require(querier.deadline)
        #expect(first >= start + .milliseconds(20) && first <= start + .milliseconds(120))
        let query = try #require(try packets(querier.tick(now: first)).first)
        #expect(!query.isResponse)
        #expect(query.questions.map(\.name) == ["_http._tcp.local"])
        #expect(query.questions.first?.type == .ptr && query.questions.first?.questionClass == 0x8001)
        var now = first
        for gap in [1, 2, 4] {
            // The deadlines between are the settle's (put off: nothing answers here).
            var next = try #require(querier.deadline)
            var asked = try packets(querier.tick(now: next))
            while asked.isEmpty, next < now + .seconds(gap) {
                next = try #require(querier.deadline)
                asked = try packets(querier.tick(now: next))
            }
            #expect(next == now + .seconds(gap))
            #expect(
                asked.first?.questions.first?.questionClass == 0x0001,
                "later queries ask for multicast replies")
            now = next
        }
    }

    @Test(
        "answers collect until settle, then the set is published; a goodbye ends it one second after it arrives"
    )
    func settleAndGoodbye() throws {
        let (querier, published) = querier(resolve: .a)
        let start = ContinuousClock.now
        _ = querier.start(now: start)
        let first = try #require(querier.deadline)
        _ = querier.tick(now: first)
        _ = querier.receive(try announcement("web"), from: responder, now: first + .milliseconds(50))
        #expect(published.sets.withLock { $0 }.isEmpty, "nothing before settle")
        _ = querier.tick(now: first + .seconds(1))
        let set = try #require(published.sets.withLock { $0.last })
        #expect(set.map(\.address) == ["10.0.0.9:8080"])
        #expect(set.first?.id == "web" && set.first?.metadata["path"] == "/x")

        var goodbye = try announcement("web", ttl: 0)
        goodbye.additionals = []
        let said = first + .seconds(2)
        _ = querier.receive(goodbye, from: responder, now: said)
        _ = querier.tick(now: said + .milliseconds(500))
        #expect(published.sets.withLock { $0.last }?.count == 1, "still there half a second on")
        _ = querier.tick(now: said + .seconds(1))
        #expect(published.sets.withLock { $0.last } == [], "gone one second on")
    }

    @Test(
        "an instance's SRV, TXT and address records before the PTR that names it (Avahi's order) count when it comes"
    )
    func recordsBeforePointer() throws {
        let (querier, published) = querier(resolve: .a)
        let start = ContinuousClock.now
        _ = querier.start(now: start)
        let first = try #require(querier.deadline)
        _ = querier.tick(now: first)
        let whole = try announcement("web")
        var records = whole
        records.answers.removeFirst()
        var pointer = whole
        pointer.answers = [whole.answers[0]]
        pointer.additionals = []
        _ = querier.receive(records, from: responder, now: first + .milliseconds(30))
        _ = querier.receive(pointer, from: responder, now: first + .milliseconds(40))
        var other = try announcement("deeper")
        other.answers[1].name = "x.deeper._http._tcp.local"
        other.answers.removeFirst()
        _ = querier.receive(other, from: responder, now: first + .milliseconds(50))
        _ = querier.tick(now: first + .seconds(1))
        #expect(published.sets.withLock { $0 }.map { $0.map(\.address) } == [["10.0.0.9:8080"]])
    }

    @Test("responses from a port other than 5353, queries and other service types are not taken")
    func ignored() throws {
        let (querier, published) = querier()
        let start = ContinuousClock.now
        _ = querier.start(now: start)
        _ = querier.receive(
            try announcement("web"), from: MDNSSockets.Peer(ipv4: [10, 0, 0, 9], port: 40000), now: start)
        var query = try announcement("web")
        query.flags = 0
        _ = querier.receive(query, from: responder, now: start)
        var other = try announcement("printer")
        other.answers[0].name = "_ipp._tcp.local"
        _ = querier.receive(other, from: responder, now: start)
        while published.sets.withLock({ $0.isEmpty }), let deadline = querier.deadline,
            deadline < start + .seconds(5)
        {
            _ = querier.tick(now: deadline)
        }
        #expect(published.sets.withLock { $0 } == [[]])
    }

    @Test(
        "with nothing by settle, the first set waits for the third query (an empty link about 3.5 s), or for the first answers and half a second"
    )
    func emptySettle() throws {
        let (querier, published) = querier()
        let start = ContinuousClock.now
        _ = querier.start(now: start)
        let first = try #require(querier.deadline)
        _ = querier.tick(now: first)
        _ = querier.tick(now: first + .seconds(1))
        #expect(published.sets.withLock { $0 }.isEmpty, "an empty set is not published at settle")
        #expect(querier.deadline == first + .seconds(3), "the third query")
        _ = querier.tick(now: first + .seconds(3))
        #expect(querier.deadline == first + .milliseconds(3500), "its answers waited for")
        _ = querier.tick(now: first + .milliseconds(3500))
        #expect(published.sets.withLock { $0 } == [[]])

        let (late, lateSets) = self.querier()
        _ = late.start(now: start)
        let lateFirst = try #require(late.deadline)
        _ = late.tick(now: lateFirst)
        _ = late.tick(now: lateFirst + .seconds(1))
        let answered = lateFirst + .milliseconds(1100)
        _ = late.receive(try announcement("web"), from: responder, now: answered)
        #expect(late.deadline == answered + .milliseconds(500))
        _ = late.tick(now: answered + .milliseconds(500))
        #expect(lateSets.sets.withLock { $0 }.map { $0.map(\.id) } == [["web"]])
    }

    @Test("a query carries the PTR records known with more than half their TTL left")
    func knownAnswers() throws {
        let (querier, _) = querier()
        let start = ContinuousClock.now
        _ = querier.start(now: start)
        let first = try #require(querier.deadline)
        _ = querier.tick(now: first)
        _ = querier.receive(try announcement("fresh", ttl: 100), from: responder, now: first)
        _ = querier.receive(try announcement("old", ttl: 2), from: responder, now: first)
        let next = try #require(querier.deadline)
        let query = try #require(try packets(querier.tick(now: first + .seconds(1))).first, "\(next)")
        let known = query.answers.compactMap { record -> String? in
            guard case .ptr(let name) = record.data else { return nil }
            return name
        }
        #expect(known == ["fresh._http._tcp.local"], "old has less than half its 2 s left")
        #expect(query.answers.first.map { $0.ttl <= 99 } == true, "the TTL left, not the original")
    }

    @Test("a flood beyond the bound is dropped and reported once; the set comes back when records expire")
    func flood() throws {
        let (querier, published) = querier(maximumRecords: 8)
        let start = ContinuousClock.now
        _ = querier.start(now: start)
        _ = querier.tick(now: start + .seconds(2))
        for number in 0..<50 {
            _ = querier.receive(
                try announcement("flood\(number)", ttl: 1), from: responder, now: start + .seconds(2))
        }
        _ = querier.tick(now: start + .milliseconds(2100))
        #expect(published.failures.withLock { $0.count } == 1)
        #expect(
            published.failures.withLock { $0.first?.cause is InstanceLimitExceeded },
            "the failure says which limit")
        #expect(published.sets.withLock { $0.allSatisfy { $0.count <= 2 } }, "at most 8 records: 2 instances")
        // The flood's records expire: with no packet since, the set is published again (empty).
        let sets = published.sets.withLock { $0.count }
        _ = querier.tick(now: start + .seconds(4))
        #expect(published.sets.withLock { $0.count } == sets + 1 && published.sets.withLock { $0.last } == [])
        _ = querier.receive(try announcement("web"), from: responder, now: start + .seconds(4))
        _ = querier.tick(now: start + .seconds(4))
        #expect(published.sets.withLock { $0.last }?.map(\.id) == ["web"])
    }

    @Test("the fuzzing harness (Tests/Fuzz MDNSFuzzer) runs its seeds, and a flood stays within the bound")
    func fuzzingHarness() throws {
        let directory = Repository.root + "/Tests/Fuzz/seeds/mdns"
        let seeds = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(seeds.count >= 3)
        for seed in seeds {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/" + seed)))
            let decoded = bytes.withUnsafeBytes { MDNSFuzzing.run($0) }
            #expect(decoded >= 2, "\(seed)")
        }
        // 200 announcements of distinct instances: past the harness's bound of 64 records.
        var input: [UInt8] = []
        for index in 0..<200 {
            var writer = DNSMessageWriter(flags: DNSMessageWriter.responseFlags)
            let name = "i\(index)._http._tcp.local"
            try writer.record(
                DNSResourceRecord(name: "_http._tcp.local", type: .ptr, ttl: 120, data: .ptr(name)),
                to: .answer)
            try writer.record(
                DNSResourceRecord(
                    name: name, type: .srv, ttl: 120,
                    data: .srv(priority: 0, weight: 0, port: 80, target: "h.local")),
                to: .answer)
            input += [UInt8(writer.bytes.count >> 8), UInt8(writer.bytes.count & 0xFF)] + writer.bytes
        }
        #expect(input.withUnsafeBytes { MDNSFuzzing.run($0) } == 200)
    }
}
