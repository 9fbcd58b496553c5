import Foundation
import TestSupport
import Testing

/// sdctl on `srv://` targets against a real Knot DNS server.
@Suite("sdctl end to end, on DNS SRV", .serialized)
struct DNSEndToEndTests {
    let environment = ["NO_COLOR": "1", "SDCTL_HOME": "/nonexistent"]

    func withKnot(_ body: (KnotServer) async throws -> Void) async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example], body)
    }

    @Test("resolve prints target:port; NXDOMAIN and empty answers exit 3 with the reason on stderr")
    func resolve() async throws {
        try await withKnot { knot in
            let found = try await runSDCTL(
                ["resolve", "srv://\(knot.address)/_x._tcp.example.test"], environment: environment)
            #expect(found.status == 0)
            #expect(found.lines == ["a.example.test:8080", "b.example.test:8081", "c.other.test:8082"])
            let v6 = try await runSDCTL(
                ["resolve", "srv://[::1]:\(knot.port)/_x._tcp.example.test?resolve=any"],
                environment: environment)
            #expect(v6.lines == ["127.0.0.1:8080", "[::1]:8081"])

            for (name, reason) in [
                (
                    "_nope._tcp.example.test",
                    "_nope._tcp.example.test does not exist (NXDOMAIN from \(knot.address))"
                ),
                ("_none._tcp.example.test", "decidedly not available"),
            ] {
                let result = try await runSDCTL(
                    ["resolve", "srv://\(knot.address)/\(name)"], environment: environment)
                #expect(result.status == 3)
                #expect(result.lines.isEmpty)
                #expect(result.stderr.split(separator: "\n").count == 1)
                #expect(result.stderr.contains(reason), "\(result.stderr)")
            }
        }
    }

    @Test("SERVFAIL, REFUSED, a closed port and a silent server exit 69 with one line, within --timeout")
    func unavailable() async throws {
        try await withKnot { knot in
            let closed = try FreePorts.take(1)[0]
            let silent = MisbehavingDNSServer(behaviour: .silent)
            defer { silent.stop() }
            for (target, why) in [
                ("srv://\(knot.address)/_x._tcp.broken.test", "answered SERVFAIL"),
                ("srv://\(knot.address)/_x._tcp.elsewhere.test", "answered REFUSED"),
                ("srv://127.0.0.1:\(closed)/_x._tcp.example.test", "connection refused"),
                (
                    "srv://127.0.0.1:\(silent.port)/_x._tcp.example.test",
                    "no answer from 127.0.0.1:\(silent.port)"
                ),
            ] {
                let started = ContinuousClock.now
                let result = try await runSDCTL(
                    ["resolve", target, "--timeout", "1s"], environment: environment)
                #expect(result.status == 69, "\(target): \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1)
                #expect(result.stderr.contains(why), "\(result.stderr)")
                #expect(ContinuousClock.now - started < .seconds(3))
            }
        }
    }

    @Test("an answer too large for UDP arrives whole over TCP")
    func largeAnswer() async throws {
        try await withKnot { knot in
            let result = try await runSDCTL(
                ["resolve", "srv://\(knot.address)/_big._tcp.example.test"], environment: environment)
            #expect(result.status == 0)
            #expect(result.lines == TestZones.bigAddresses.sorted())
        }
    }

    @Test("watch shows a change once the TTL has run out, not before")
    func watchHonoursTTL() async throws {
        try await withKnot { knot in
            // _w._tcp has a TTL of 3 s; min-interval is far below it, so the TTL decides.
            let watcher = try RunningProcess(
                RunningProcess.sdctl,
                [
                    "watch", "srv://\(knot.address)/_w._tcp.example.test?min-interval=100ms", "-o", "json",
                    "--count", "2",
                ],
                environment: environment)
            try await watcher.line { $0.contains(#""address":"a.example.test:6000""#) }
            let firstSeen = ContinuousClock.now
            try await knot.replace(
                zone: "example.test", owner: "_w._tcp", type: "SRV", ttl: 3, records: ["1 1 6001 a"])
            try await watcher.line(within: .seconds(10)) {
                $0.contains(#""added":[{"address":"a.example.test:6001""#)
            }
            let elapsed = ContinuousClock.now - firstSeen
            // The first answer came before `firstSeen` by the time it took to print and be read.
            #expect(elapsed >= .milliseconds(2800), "seen after \(elapsed)")
            #expect(elapsed <= .milliseconds(4800), "seen after \(elapsed)")
            #expect(try await watcher.wait() == 0)
        }
    }

    @Test("without a server, resolv.conf decides: a dead first server, the search list and ndots")
    func resolvConf() async throws {
        try await withKnot { knot in
            let directory = TemporaryDirectory("sdctl-resolv")
            defer { directory.remove() }
            let dead = try FreePorts.take(1)[0]
            try """
            nameserver [127.0.0.1]:\(dead)
            nameserver [127.0.0.1]:\(knot.port)
            search nowhere.example.test example.test
            options ndots:4 timeout:1 attempts:1
            """.write(toFile: "\(directory.path)/resolv.conf", atomically: true, encoding: .utf8)
            var env = environment
            env["SDCTL_RESOLV_CONF"] = "\(directory.path)/resolv.conf"
            // Two dots, fewer than ndots: the search list first; in nowhere.example.test it is NXDOMAIN.
            let result = try await runSDCTL(["resolve", "srv:///_y._tcp.web", "-v"], environment: env)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.lines == ["a.example.test:7000"])
            #expect(result.stderr.contains("127.0.0.1:\(dead)"))
        }
    }

    @Test("register and deregister say in one line that DNS is read-only, exit 2")
    func readOnly() async throws {
        for arguments in [
            ["register", "srv://127.0.0.1/_x._tcp.example.test", "127.0.0.1:80"],
            ["deregister", "srv://127.0.0.1/_x._tcp.example.test", "127.0.0.1:80"],
        ] {
            let result = try await runSDCTL(arguments, environment: environment)
            #expect(result.status == 2)
            #expect(
                result.stderr
                    == "sdctl: DNS is read-only: srv:// targets can be resolved and watched, not registered\n"
            )
        }
    }
}

extension DNSEndToEndTests {
    @Test("bench propagation on srv:// changes records by RFC 2136 update and times what a watcher sees")
    func benchPropagation() async throws {
        try await withKnot { knot in
            let result = try await runSDCTL(
                [
                    "bench", "propagation",
                    "srv://\(knot.address)/_bench._tcp.example.test?min-interval=50ms",
                    "--rounds", "5", "--timeout", "10s",
                ], environment: environment, timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.lines.contains { $0.hasPrefix("register") }, "\(result.lines)")
            // Every round removed what it added.
            let left = try await runSDCTL(
                ["resolve", "srv://\(knot.address)/_bench._tcp.example.test"], environment: environment)
            #expect(left.status == 3)
        }
    }
}
